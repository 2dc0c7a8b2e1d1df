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
        log.info("licensing.open_files.limit", soft=soft, hard=hard, raised=False)
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("licensing.open_files.limit_not_raised", soft=soft, hard=hard, error=repr(exc))
        return soft, soft
    log.info("licensing.open_files.limit", soft=target, hard=hard, raised=True, was=soft)
    return soft, target


GC_PAUSES = Counter(
    "licensing_gc_pause_seconds_total", "Time the process spent in the cyclic garbage collector", ["generation"]
)
_gc_started: list[float] = []


def _on_gc(phase: str, info: dict[str, int]) -> None:
    if phase == "start":
        _gc_started.append(time.perf_counter())
    elif _gc_started:
        GC_PAUSES.labels(str(info["generation"])).inc(time.perf_counter() - _gc_started.pop())


def watch_gc_pauses() -> None:
    """Ten thousand sessions are a million long-lived objects for the collector to walk: show what it costs."""
    if _on_gc not in gc.callbacks:
        gc.callbacks.append(_on_gc)
