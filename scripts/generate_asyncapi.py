"""Write docs/asyncapi.json from the event models (a test fails when the two drift apart)."""

from __future__ import annotations

import json
from pathlib import Path

from shared.events.asyncapi import build_asyncapi

TARGET = Path(__file__).resolve().parents[1] / "docs" / "asyncapi.json"


def render() -> str:
    return json.dumps(build_asyncapi(), indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render())
    print(f"wrote {TARGET}")
