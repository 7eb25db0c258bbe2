"""The targets of `bench/run`, each judged on one run's results (bench/README.md, "Targets").

Throughput targets are ratios to the same run's ceiling (a bare ASGI app on uvicorn's httptools
protocol, same loop, same core), so that they mean the same on a faster or slower machine;
latency targets are absolute, at the run's concurrency (8 connections by default).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from bench.load import Measurement

# Each operation's rate is compared with the ceiling run of its method.
CEILING_OF = {
    "create": "ceiling POST",
    "read": "ceiling GET",
    "read OM order": "ceiling GET",
    "capture": "ceiling POST",
    "purchase": "ceiling POST",
}

MIN_CREATE_RATIO = 0.15
MIN_READ_RATIO = 0.30
MAX_CREATE_P99_MS = 5.0
MAX_READ_P99_MS = 2.0
MIN_CAPTURE_TO_CREATE = 0.80  # capture within 20 % of create's rate
MIN_PURCHASES_PER_SECOND = 500.0
MAX_COLD_START_SECONDS = 1.0


@dataclass(frozen=True)
class Verdict:
    target: str
    wanted: str
    measured: str
    met: bool


def set_ceiling_ratios(by_name: dict[str, Measurement]) -> None:
    for name, ceiling_name in CEILING_OF.items():
        own, top = by_name.get(name), by_name.get(ceiling_name)
        if own is None or top is None:
            continue
        own.ceiling = ceiling_name
        own.ceiling_ratio = round(own.rps / top.rps, 3) if top.rps else None


def verdicts(by_name: dict[str, Measurement], startup: dict[str, Any] | None) -> list[Verdict]:
    """Every target that this run measured, met or not."""
    found: list[Verdict] = []

    def clean(m: Measurement) -> bool:
        return m.non2xx == 0 and not any(m.socket_errors.values())

    def ratio(name: str, least: float) -> None:
        m = by_name.get(name)
        if m is None or m.ceiling_ratio is None:
            return
        found.append(
            Verdict(
                f"{name} vs {m.ceiling}",
                f">= {least:.2f}",
                f"{m.ceiling_ratio:.3f} ({m.rps:,.0f} req/s)",
                m.ceiling_ratio >= least and clean(m),
            )
        )

    def p99(name: str, most: float) -> None:
        m = by_name.get(name)
        if m is not None:
            found.append(
                Verdict(f"{name} p99", f"< {most:g} ms", f"{m.p99_ms:.2f} ms", m.p99_ms < most)
            )

    ratio("create", MIN_CREATE_RATIO)
    ratio("read", MIN_READ_RATIO)
    p99("create", MAX_CREATE_P99_MS)
    p99("read", MAX_READ_P99_MS)
    capture, create = by_name.get("capture"), by_name.get("create")
    if capture is not None and create is not None and create.rps:
        share = capture.rps / create.rps
        found.append(
            Verdict(
                "capture vs create",
                f">= {MIN_CAPTURE_TO_CREATE:.2f}",
                f"{share:.3f} ({capture.rps:,.0f} vs {create.rps:,.0f} req/s)",
                share >= MIN_CAPTURE_TO_CREATE and clean(capture),
            )
        )
    purchase = by_name.get("purchase")
    if purchase is not None:
        found.append(
            Verdict(
                "purchase (headless)",
                f">= {MIN_PURCHASES_PER_SECOND:.0f}/s",
                f"{purchase.rps:,.0f}/s",
                purchase.rps >= MIN_PURCHASES_PER_SECOND and clean(purchase),
            )
        )
    if startup is not None:
        median = float(startup["median_new_s"])
        found.append(
            Verdict(
                "cold start to first answer",
                f"< {MAX_COLD_START_SECONDS:g} s",
                f"{median:.3f} s (median, new database)",
                median < MAX_COLD_START_SECONDS,
            )
        )
    return found


def as_report(found: list[Verdict]) -> list[dict[str, Any]]:
    return [asdict(v) for v in found]
