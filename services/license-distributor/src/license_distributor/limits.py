"""Process limits for holding thousands of gateway sockets: the open-file soft limit (raised at start), GC pauses."""

from __future__ import annotations

import gc
import resource
import time

import structlog
from prometheus_client import Counter

log = structlog.get_logger()


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft limit of open files to the hard limit (each gateway session is one socket); say so.

    Returns (before, after). The hard limit is the operator's to set (systemd `LimitNOFILE`, the container
    runtime's `nofile` ulimit); we never lower anything.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft == resource.RLIM_INFINITY or soft >= target:
        log.info("license_distributor.open_files.limit", soft=soft, hard=hard, raised=False)
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("license_distributor.open_files.limit_not_raised", soft=soft, hard=hard, error=repr(exc))
        return soft, soft
    log.info("license_distributor.open_files.limit", soft=target, hard=hard, raised=True, was=soft)
    return soft, target


GC_PAUSES = Counter(
    "license_distributor_gc_pause_seconds_total",
    "Time the process spent in the cyclic garbage collector",
    ["generation"],
)
_gc_started: list[float] = []


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started.append(time.perf_counter())
    elif _gc_started:
        GC_PAUSES.labels(str(info["generation"])).inc(time.perf_counter() - _gc_started.pop())


def tune_garbage_collector(thresholds: tuple[int, int, int]) -> None:
    """Ten thousand sessions are a million long-lived objects for the cyclic collector to walk, and a reconnect
    storm allocates them all again: with the default thresholds (700, 10, 10) a 3,000-gateway storm spent 12.5 s
    of its 32.5 s in the collector. Collect young objects far less often (most garbage here is freed by reference
    counting anyway), freeze what start-up made (modules, settings: never garbage), and count the pauses."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
    log.info("license_distributor.gc.tuned", thresholds=list(thresholds), frozen=gc.get_freeze_count())
