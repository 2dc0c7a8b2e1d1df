"""Every problem `code` the four services' code can answer with, read from their source (no service started)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [ROOT / "shared" / "src" / "shared", *sorted((ROOT / "services").glob("*/src/*"))]


def _class_codes(node: ast.ClassDef) -> set[str]:
    """`code = "..."`, `code: str = "..."` and `status, code, title = ...` in a class body."""
    found = set()
    for statement in node.body:
        targets: list[ast.expr]
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id == "code" and isinstance(value, ast.Constant):
                found.add(str(value.value))
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                for name, item in zip(target.elts, value.elts, strict=False):
                    if isinstance(name, ast.Name) and name.id == "code" and isinstance(item, ast.Constant):
                        found.add(str(item.value))
    return found


def _module_codes(tree: ast.Module) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        # Refusal(..., code="...") and problem_response(code="...").
        if isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
            if isinstance(node.value.value, str):
                found.add(node.value.value)
        elif isinstance(node, ast.ClassDef):
            found |= _class_codes(node)
        # A table of codes (`_STATUS_CODES` of shared.errors, `_REFUSAL_CODES` of contracts): its values.
        elif isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id.endswith("_CODES") for t in targets):
                found |= {str(v.value) for v in node.value.values if isinstance(v, ast.Constant)}
    return found


def problem_codes_in_source() -> set[str]:
    found = {"http_error"}  # shared.errors: a Starlette HTTP error of a status it has no name for
    for source in SOURCES:
        for module in source.rglob("*.py"):
            found |= _module_codes(ast.parse(module.read_text()))
    return found
