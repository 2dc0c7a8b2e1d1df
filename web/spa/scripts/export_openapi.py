"""Write each service's OpenAPI document to web/spa/openapi/<service>.json, for openapi-typescript.

`npm run gen:api` runs this and then the generator. Building an app's schema needs no database or broker:
the documents come from the services' code, so they are exactly what the running services will serve.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from shared.runtime import ServiceSpec, create_app

OUT = Path(__file__).resolve().parents[1] / "openapi"
# The proxy's service name (`/api/<name>/...`) -> the service's package.
SERVICES = {
    "wallet": "wallet",
    "contracts": "contracts",
    "provisioning": "provisioning",
    "licensing": "license_distributor",
}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name, package in SERVICES.items():
        spec: ServiceSpec = importlib.import_module(f"{package}.main").SPEC
        settings = importlib.import_module(f"{package}.config").Settings(log_json=True)
        document = create_app(spec, settings).openapi()
        (OUT / f"{name}.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
        print(f"openapi/{name}.json: {len(document.get('paths', {}))} paths")


if __name__ == "__main__":
    main()
