"""docs/operations.md names the metrics, queues and tables the platform really has."""

from __future__ import annotations

import re
from pathlib import Path

from shared.http import LATENCY, REQUESTS
from shared.messaging.consumer import HANDLED
from shared.messaging.outbox import PUBLISH_FAILED, PUBLISHED
from shared.messaging.topology import UNROUTED_EXCHANGE, Topology

ROOT = Path(__file__).resolve().parents[3]
GUIDE = (ROOT / "docs" / "operations.md").read_text()


def test_the_guide_documents_exactly_the_shared_metrics_every_service_exports() -> None:
    # What every service exports: the metrics of the shared HTTP, outbox and consumer code.
    exported = {
        next(iter(metric.describe())).name for metric in (REQUESTS, LATENCY, HANDLED, PUBLISHED, PUBLISH_FAILED)
    }
    table = GUIDE.split("## Metrics", 1)[1].split("## What to watch", 1)[0]
    documented = {name.removesuffix("_total") for name in re.findall(r"^\| `([a-z_]+)[{`]", table, flags=re.M)}
    assert documented == exported


def test_the_guide_names_the_dead_letter_and_unrouted_queues_the_topology_declares() -> None:
    # The unrouted queue has the alternate exchange's name; each consumer queue has a `.dead` companion.
    assert f"`{UNROUTED_EXCHANGE}`" in GUIDE
    assert Topology(prefix="").dead_queue_name("wallet.events") == "wallet.events.dead"
    assert "`<service>.events.dead`" in GUIDE
    assert "SELECT count(*) FROM <schema>.outbox_message WHERE sent_at IS NULL" in GUIDE
