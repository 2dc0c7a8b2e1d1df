"""The problem `code` is an enum in the documents: it lists every code the services' source answers with, and
nothing else, so a generated client can switch on it without meeting a value it does not know."""

from __future__ import annotations

from pathlib import Path

from shared.problem_codes import ProblemCode
from tests.unit.shared.problem_code_sources import problem_codes_in_source
from tests.unit.shared.test_openapi_document import SERVICES, document_of


def test_the_enum_is_every_code_the_services_answer_with() -> None:
    in_source = problem_codes_in_source()
    listed = {code.value for code in ProblemCode}
    assert in_source - listed == set(), "add these to shared.problem_codes.ProblemCode"
    assert listed - in_source == set(), "no service answers with these any more"


def test_the_collector_finds_codes_of_each_kind() -> None:
    in_source = problem_codes_in_source()
    # A keyword, a class attribute, a table of codes, shared.errors' own.
    assert {"key_revoked", "invalid_hwid", "contract_not_draft", "method_not_allowed", "not_found"} <= in_source


def test_every_document_declares_the_problem_code_as_that_enum(tmp_path: Path) -> None:
    for service in SERVICES:
        schemas = document_of(service, tmp_path)["components"]["schemas"]
        assert schemas["Problem"]["properties"]["code"]["$ref"] == "#/components/schemas/ProblemCode"
        assert set(schemas["ProblemCode"]["enum"]) == {code.value for code in ProblemCode}
