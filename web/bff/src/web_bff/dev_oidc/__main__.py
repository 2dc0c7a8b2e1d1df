"""`python -m web_bff.dev_oidc`: the development OpenID provider on its issuer's port (8000 by default)."""

from __future__ import annotations

import uvicorn

from web_bff.dev_oidc.app import create_app
from web_bff.dev_oidc.config import DevProviderSettings


def main() -> None:
    settings = DevProviderSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, access_log=False)


if __name__ == "__main__":
    main()
