"""`python -m web_bff`: the web app (BFF and built SPA) on port 8080 by default."""

from __future__ import annotations

import uvicorn

from web_bff.config import BffSettings
from web_bff.main import create_app


def main() -> None:
    settings = BffSettings()
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port, access_log=False)


if __name__ == "__main__":
    main()
