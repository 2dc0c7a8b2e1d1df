"""The generated clients in `tests/clients/` are those the current documents give: regenerated into a temporary
folder, every file is the same (`make clients` after a change of a route or a schema)."""

from __future__ import annotations

from pathlib import Path

from scripts.generate_clients import CLIENTS, SERVICES, generate


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_committed_clients_are_those_the_served_documents_generate(tmp_path: Path) -> None:
    generate(tmp_path)
    fresh, committed = files_of(tmp_path), files_of(CLIENTS)
    assert {f"{name}_client" for name in SERVICES} <= {Path(name).parts[0] for name in fresh}
    stale = sorted(name for name in fresh.keys() | committed.keys() if fresh.get(name) != committed.get(name))
    assert stale == [], "run `make clients`"
