"""Print every kept benchmark result (`bench/results/*.json`) as one table; `make bench` ends with it."""

from __future__ import annotations

import json

from bench.results import RESULTS_DIR, table


def main() -> None:
    documents = [json.loads(path.read_text()) for path in sorted(RESULTS_DIR.glob("*.json"))]
    if not documents:
        raise SystemExit("no results yet: run `make bench`")
    print(table(documents))
    for document in documents:
        print(f"  {document['benchmark']}: {document['command']}  ({document['measured_at']})")


if __name__ == "__main__":
    main()
