"""Serves the built SPA: files from `dist/`, and `index.html` for every other path (client-side routes)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from web_bff.config import BffSettings

router = APIRouter()

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Rental</title></head>
<body><main><h1>The web app is not built</h1><p>Run <code>make web</code>, then reload.</p></main></body></html>"""


@router.get("/{path:path}", include_in_schema=False)
async def spa(path: str, request: Request) -> Response:
    settings: BffSettings = request.app.state.settings
    dist: Path = settings.spa_dist.resolve()
    candidate = (dist / path).resolve()
    # A real file inside dist/ (never outside it, whatever `..` the path holds).
    if path and candidate.is_file() and candidate.is_relative_to(dist):
        immutable = candidate.parent.name == "assets"  # hashed names: cache them for good
        headers = {"Cache-Control": "public, max-age=31536000, immutable" if immutable else "no-cache"}
        return FileResponse(candidate, headers=headers)
    index = dist / "index.html"
    if not index.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503)
    return FileResponse(index, headers={"Cache-Control": "no-cache"})
