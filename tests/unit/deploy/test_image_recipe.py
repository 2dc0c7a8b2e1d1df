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


@pytest.mark.parametrize("recipe", ["deploy/Dockerfile", "web/Dockerfile"])
def test_the_image_runs_as_the_user_the_pod_security_context_expects(recipe: str) -> None:
    text = (ROOT / recipe).read_text()
    final_stage = re.split(r"^FROM ", text, flags=re.MULTILINE)[-1]
    assert re.search(r"useradd --uid 10001 --gid 10001\b", final_stage)
    # Numeric, so that a runtime can tell it is not root without reading the image's /etc/passwd.
    assert "\nUSER 10001:10001\n" in final_stage
    # No build tool in the final image: uv, npm and the workspace sources stay in the build stages.
    assert "uv" not in re.findall(r"\w+", final_stage)
    assert "pip install" not in final_stage
    assert "npm" not in final_stage


def test_the_service_image_holds_only_its_own_service() -> None:
    recipe = (ROOT / "deploy" / "Dockerfile").read_text()
    assert 'cp -a "services/${SERVICE}" /out/services/' in recipe
    assert "COPY --from=build /out /app" in recipe
    # The Kubernetes manifests override the command per service; the image's default serves the chosen one.
    assert 'exec python -m $(echo \\"$SERVICE_MODULE\\" | tr - _)' in recipe
