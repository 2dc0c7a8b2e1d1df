"""The history's `type` is a closed set (an enum in the document): it names every line contracts can write."""

from __future__ import annotations

import ast
from pathlib import Path

import contracts
from contracts.domain import HistoryEntryType
from shared.events import CATALOGUE
from shared.events.base import CaughtUpWithTestClock

SOURCE = Path(contracts.__file__).parent


def written_line_types() -> set[str]:
    """Every `type="..."` a contracts module gives a history line (its own changes, the wallet's events)."""
    found = set()
    for module in SOURCE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "type" and isinstance(node.value, ast.Constant):
                found.add(str(node.value.value))
    return found


def test_every_line_contracts_writes_has_its_type_in_the_set() -> None:
    # Every event contracts publishes about a contract has a line of its name (`service._publish`); its catch-up
    # with a test clock is a report to the wallet, about no contract.
    published = {
        model.__name__
        for model in CATALOGUE.values()
        if model.publisher == "contracts" and not issubclass(model, CaughtUpWithTestClock)
    }
    written = written_line_types()
    assert {"ContractOpened", "BalanceDepleted"} <= written
    assert published | written <= {entry.value for entry in HistoryEntryType}


def test_the_set_names_nothing_that_is_never_written() -> None:
    published = {model.__name__ for model in CATALOGUE.values() if model.publisher == "contracts"}
    assert {entry.value for entry in HistoryEntryType} <= published | written_line_types()
