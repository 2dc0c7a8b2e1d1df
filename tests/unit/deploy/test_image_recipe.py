"""deploy/Dockerfile, checked without a Docker engine: what `uv sync --frozen` in the build needs is copied first."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def copied_before_sync(recipe: str) -> set[str]:
    """Source paths of the COPY instructions of the stage that runs `uv sync`, before it."""
    stages = re.split(r"^FROM ", (ROOT / recipe).read_text(), flags=re.MULTILINE)
    (build_stage,) = [stage for stage in stages if re.search(r"^RUN uv sync", stage, flags=re.MULTILINE)]
    before_sync = re.split(r"^RUN uv sync", build_stage, flags=re.MULTILINE)[0]
    copied: set[str] = set()
    for line in before_sync.splitlines():
        if line.startswith("COPY ") and "--from=" not in line:
            *sources, _destination = line.split()[1:]
            copied.update(source.rstrip("/") for source in sources)
    return copied


@pytest.mark.parametrize("recipe", ["deploy/Dockerfile", "web/Dockerfile"])
def test_the_image_build_copies_every_workspace_member_before_installing(recipe: str) -> None:
    # uv refuses to sync a workspace with a member missing, even when installing only one package.
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    copied = copied_before_sync(recipe)
    assert {"pyproject.toml", "uv.lock"} <= copied
    for member in workspace:
        for path in sorted(ROOT.glob(member)):
            relative = path.relative_to(ROOT).as_posix()
            assert any(relative == c or relative.startswith(f"{c}/") for c in copied), (
                f"workspace member {relative} is not copied before `uv sync` in {recipe}"
            )


def test_the_image_runs_as_the_user_the_pod_security_context_expects() -> None:
    recipe = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"useradd --uid 10001\b", recipe)
    assert "\nUSER app\n" in recipe
    # The Kubernetes manifests override the command per service; the image's default serves the chosen one.
    assert 'exec python -m $(echo \\"$SERVICE_MODULE\\" | tr - _)' in recipe
