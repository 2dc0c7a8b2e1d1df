"""A local SMTP sink (`aiosmtpd`): keeps every message it accepts in memory and shows them over HTTP.

`make run` starts it (`python -m scripts.smtp_sink`: SMTP on 127.0.0.1:1025, the wallet's default, and the
messages at http://127.0.0.1:8025/ as a page and at `/messages` as JSON; `DELETE /messages` empties it). The tests
start the same sink in their own event loop (`SmtpSink`, `serving_smtp_sink`) and read what it received.
Development only: it accepts everything from anyone and relays nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import itertools
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    number: int
    received_at: str
    mail_from: str
    rcpt_tos: list[str]
    subject: str
    message_id: str
    headers: dict[str, str]
    text: str
    html: str


def _parts(message: EmailMessage) -> tuple[str, str]:
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if isinstance(text_part, EmailMessage) else ""
    markup = html_part.get_content() if isinstance(html_part, EmailMessage) else ""
    return str(text), str(markup)


class SmtpSink:
    """The aiosmtpd handler: every message accepted (250) and kept, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[ReceivedMail] = []
        self._numbers = itertools.count(1)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        parsed = message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text, markup = _parts(parsed)
        self.messages.append(
            ReceivedMail(
                number=next(self._numbers),
                received_at=datetime.now(UTC).isoformat(),
                mail_from=str(envelope.mail_from or ""),
                rcpt_tos=[str(r) for r in envelope.rcpt_tos],
                subject=str(parsed.get("Subject", "")),
                message_id=str(parsed.get("Message-ID", "")),
                headers={k: str(v) for k, v in parsed.items()},
                text=text,
                html=markup,
            )
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address in m.rcpt_tos]


@contextlib.asynccontextmanager
async def serving_smtp_sink(host: str = "127.0.0.1", port: int = 1025) -> AsyncIterator[SmtpSink]:
    """The sink's SMTP server in this event loop until the block ends."""
    sink = SmtpSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="smtp-sink.local"), host=host, port=port)
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


def web_app(sink: SmtpSink) -> web.Application:
    async def messages(_request: web.Request) -> web.Response:
        return web.json_response([asdict(m) for m in reversed(sink.messages)])

    async def clear(_request: web.Request) -> web.Response:
        sink.messages.clear()
        return web.Response(status=204)

    async def page(_request: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{m.number}</td><td>{html.escape(m.received_at)}</td><td>{html.escape(', '.join(m.rcpt_tos))}</td>"
            f"<td>{html.escape(m.subject)}</td><td><pre>{html.escape(m.text)}</pre></td></tr>"
            for m in reversed(sink.messages)
        )
        body = (
            "<!DOCTYPE html><html><head><title>SMTP sink</title></head><body style='font-family: sans-serif'>"
            f"<h1>SMTP sink: {len(sink.messages)} message(s)</h1>"
            "<table border='1' cellpadding='4'><tr><th>#</th><th>received</th><th>to</th><th>subject</th>"
            f"<th>text</th></tr>{rows}</table></body></html>"
        )
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/messages", messages)
    app.router.add_delete("/messages", clear)
    return app


@contextlib.asynccontextmanager
async def serving_messages(sink: SmtpSink, host: str = "127.0.0.1", port: int = 8025) -> AsyncIterator[str]:
    """The sink's HTTP side (`web_app`) in this event loop until the block ends; yields its base URL."""
    runner = web.AppRunner(web_app(sink))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def serve(*, host: str, smtp_port: int, http_port: int) -> None:
    async with serving_smtp_sink(host, smtp_port) as sink, serving_messages(sink, host, http_port) as url:
        print(f"SMTP sink on {host}:{smtp_port}; messages at {url}/", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args: Any = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(host=args.host, smtp_port=args.smtp_port, http_port=args.http_port))


if __name__ == "__main__":
    main()
