"""The OpenAPI document says what the services really answer: every refusal is a problem document.

`create_app` builds each service's document with `describe_problems`, which adds, once for every operation:

- the content of every refusal (status 400 and above) as `application/problem+json` with the Problem schema
  (422 with the ValidationProblem schema, which adds `errors`), instead of FastAPI's `application/json`;
- 503 (`database_unavailable`) on every API operation, since each uses the database;
- 401, 403 and 503 (`issuer_unavailable`) where the operation needs a bearer token;
- 400 (not JSON) and 413 (too large) where it takes a body;
- the headers and refusals of shared dependencies that read a header themselves (e.g. `Idempotency-Key`),
  registered with `document_dependency`;
- the bearer-JWT security scheme (`bearerAuth`) where the operation needs a token, and the roles it allows
  (from its `shared.auth.require_roles` dependencies) at the end of its description;
- an optional body as its plain schema, not "the model or null", which generated clients stumble on.

`install_offline_docs` serves `/docs` (Swagger UI) and `/redoc` from the assets of an installed package
(`fastapi-offline`), so the pages work on an install that reaches no CDN.

The refusals particular to a route (404, 409, 410, 429, ...) are declared on the route itself with
`shared.errors.problem_responses`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute

from shared.auth import ROLES_REQUIRED, Role, current_principal
from shared.errors import PROBLEM_DESCRIPTIONS, PROBLEM_JSON, ProblemDocument, ValidationProblemDocument

PROBLEM_REF = "#/components/schemas/Problem"
VALIDATION_PROBLEM_REF = "#/components/schemas/ValidationProblem"
API_PREFIX = "/v1/"
# A token cannot be checked while the issuer's keys cannot be loaded (shared.auth).
ISSUER_UNAVAILABLE = "The token issuer's keys cannot be loaded (`issuer_unavailable`)"
# FastAPI's own answer to a body that does not parse as JSON.
BODY_NOT_JSON = "`bad_request`: the body is not JSON"
# FastAPI's own 422 schemas, replaced by ValidationProblem.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
BEARER_SCHEME = "bearerAuth"
SECURITY_SCHEMES = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An access token of the platform's OpenID Connect issuer; its `roles` claim names the caller's "
        "roles (`customer`, `partner`, `operator`), a customer's `account_id` claim their account.",
    }
}
# How each role is stated in an operation's description.
_ROLE_TEXT = {
    Role.CUSTOMER: "`customer` (their own account's objects only; another account's are 404)",
    Role.PARTNER: "`partner`",
    Role.OPERATOR: "`operator`",
}
ROLES_HEADING = "**Roles:**"


@dataclass(frozen=True)
class DocumentedDependency:
    """What a dependency that reads the request itself adds to each operation using it."""

    parameters: Sequence[dict[str, Any]] = ()
    responses: dict[int, str] = field(default_factory=dict)


_DOCUMENTED: dict[Callable[..., Any], DocumentedDependency] = {}


def document_dependency(
    call: Callable[..., Any],
    *,
    parameters: Sequence[dict[str, Any]] = (),
    responses: dict[int, str] | None = None,
) -> None:
    """Every operation depending on `call` declares these parameters (OpenAPI objects) and refusals."""
    _DOCUMENTED[call] = DocumentedDependency(parameters=tuple(parameters), responses=dict(responses or {}))


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _calls(dependency)


def _component_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in (ProblemDocument, ValidationProblemDocument):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        schemas.update(schema.pop("$defs", {}))
        schemas[schema["title"]] = schema
    return schemas


def _add_response(responses: dict[str, Any], status: int, description: str) -> None:
    existing = responses.get(str(status))
    if existing is None:
        responses[str(status)] = {"description": description}
    elif description not in existing.get("description", ""):
        existing["description"] = f"{existing['description']}; {description}"


def describe_problems(document: dict[str, Any], routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """Adds the refusals every operation can give, as problem documents (see the module's docstring)."""
    paths = document.get("paths", {})
    # Included routers' routes are seen through their contexts (prefix applied), as FastAPI's own document does.
    for route in iter_route_contexts(routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = dict.fromkeys(_calls(route.dependant))  # ordered: the document is the same on every run
        for method in route.methods or ():
            operation = paths.get(route.path_format or "", {}).get(method.lower())
            if operation is not None:
                _describe_operation(operation, route, calls)
    _add_component_schemas(document)
    return document


def _describe_operation(operation: dict[str, Any], route: RouteContext, calls: dict[Any, None]) -> None:
    """The refusals of one operation: from its path, its principal, its body and its dependencies."""
    responses = operation.setdefault("responses", {})
    if (route.path_format or "").startswith(API_PREFIX):
        # Every API operation reads or writes the service's database.
        _add_response(responses, 503, PROBLEM_DESCRIPTIONS[503])
    if needs_token(calls):
        _add_response(responses, 401, PROBLEM_DESCRIPTIONS[401])
        _add_response(responses, 403, PROBLEM_DESCRIPTIONS[403])
        _add_response(responses, 503, ISSUER_UNAVAILABLE)
        _describe_security(operation, calls)
    if route.body_field is not None:
        _add_response(responses, 400, BODY_NOT_JSON)
        _add_response(responses, 413, PROBLEM_DESCRIPTIONS[413])
        _plain_optional_body(operation)
    if "422" in responses and responses["422"].get("description") == "Validation Error":
        responses["422"]["description"] = PROBLEM_DESCRIPTIONS[422]
    for call in calls:
        documented = _DOCUMENTED.get(call)
        if documented is not None:
            _add_documented(operation, responses, documented)
    for status, response in responses.items():
        if status.isdigit() and int(status) >= 400:
            ref = VALIDATION_PROBLEM_REF if status == "422" else PROBLEM_REF
            response["content"] = {PROBLEM_JSON: {"schema": {"$ref": ref}}}
    operation["responses"] = dict(sorted(responses.items()))


def needs_token(calls: dict[Any, None]) -> bool:
    """Whether an operation reads the caller's token: through `current_principal`, or a `require_roles`
    dependency (which calls it)."""
    return current_principal in calls or not calls.keys().isdisjoint(ROLES_REQUIRED)


def allowed_roles(calls: dict[Any, None]) -> frozenset[Role]:
    """The roles an operation allows: those every one of its `require_roles` dependencies allows (any role of the
    platform where it only needs a valid token)."""
    allowed = frozenset(Role)
    for call in calls:
        allowed &= ROLES_REQUIRED.get(call, frozenset(Role))
    return allowed


def _describe_security(operation: dict[str, Any], calls: dict[Any, None]) -> None:
    """The bearer scheme, and the roles allowed, as the last paragraph of the description."""
    operation["security"] = [{BEARER_SCHEME: []}]
    roles = allowed_roles(calls)
    stated = ", ".join(_ROLE_TEXT[role] for role in Role if role in roles)
    paragraphs = [operation["description"]] if operation.get("description") else []
    operation["description"] = "\n\n".join([*paragraphs, f"{ROLES_HEADING} {stated}."])


def _plain_optional_body(operation: dict[str, Any]) -> None:
    """`body: Model | None = None` is an optional body of the model's schema (not `anyOf: [model, null]`)."""
    body = operation.get("requestBody", {})
    if body.get("required"):
        return
    for media in body.get("content", {}).values():
        variants = media.get("schema", {}).get("anyOf", [])
        concrete = [variant for variant in variants if variant.get("type") != "null"]
        if len(variants) == 2 and len(concrete) == 1:
            media["schema"] = concrete[0]


def _add_documented(operation: dict[str, Any], responses: dict[str, Any], documented: DocumentedDependency) -> None:
    """A dependency's own parameters (unless the operation names them already) and refusals."""
    parameters = operation.setdefault("parameters", [])
    names = {(p.get("in"), str(p.get("name", "")).lower()) for p in parameters}
    for parameter in documented.parameters:
        if (parameter["in"], parameter["name"].lower()) not in names:
            parameters.append(dict(parameter))
    for status, description in documented.responses.items():
        _add_response(responses, status, description)


def _add_component_schemas(document: dict[str, Any]) -> None:
    """The problem schemas; FastAPI's validation schemas only where something still refers to them."""
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.update(_component_schemas())
    if '"security"' in json.dumps(document.get("paths", {})):
        components["securitySchemes"] = SECURITY_SCHEMES
    text = json.dumps(document)
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        if f'"#/components/schemas/{name}"' not in text:
            schemas.pop(name, None)
            text = json.dumps(document)
    document["components"]["schemas"] = dict(sorted(schemas.items()))


def install_problem_document(app: FastAPI) -> None:
    """The app's `/openapi.json` is FastAPI's document with `describe_problems` applied."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = describe_problems(document, app.routes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_DOCS_ASSETS = "/docs/assets"


def install_offline_docs(app: FastAPI) -> None:
    """`/docs` and `/redoc` from the Swagger UI and ReDoc files that `fastapi-offline` ships: no CDN.

    The app is made with `docs_url=None, redoc_url=None`; these pages take their place."""
    assets = files("fastapi_offline") / "static"
    app.mount(_DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{_DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_DOCS_ASSETS}/favicon.png",
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{_DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{_DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )
