"""The fuzz run's report as text: requests and statuses per operation, conformance, findings."""

from __future__ import annotations

from tests.fuzz.run import Finding, Report


def _statuses(counts: dict[int, int]) -> str:
    return " ".join(f"{code}:{n}" for code, n in sorted(counts.items()))


def reproduction(finding: Finding) -> str:
    """How to send the request again: method, path, query, body, and what came back."""
    lines = [f"  {finding.method} {finding.path}"]
    if finding.query:
        lines.append(f"    query: {finding.query}")
    wanted = ("content-type", "klarna-idempotency-key")
    sent = {k: v for k, v in finding.headers.items() if k.lower() in wanted}
    if sent:
        lines.append(f"    headers: {sent}")
    if finding.body:
        lines.append(f"    body: {finding.body[:1000]}")
    lines.append(f"    answer {finding.status}: {finding.answer[:300]!r}")
    return "\n".join(lines)


def render(report: Report) -> str:
    out = [f"{'operation':<84} {'requests':>8} {'real ids':>8}  statuses"]
    for label, stats in report.stats.items():
        note = "  (no negative cases)" if stats.no_negative_cases else ""
        out.append(
            f"{label:<84} {stats.requests:>8} {stats.real_ids:>8}  "
            f"{_statuses(stats.statuses)}{note}"
        )
    conformance: dict[str, int] = {}
    for label, stats in report.stats.items():
        for title, n in stats.conformance.items():
            conformance[f"{label}: {title}"] = n
    if conformance:
        out.append("")
        out.append("schema conformance (reported, not a failure):")
        out += [f"  {n:>5}  {what}" for what, n in sorted(conformance.items())]
    if report.findings:
        out.append("")
        out.append("broken answers:")
        for finding in report.findings:
            if finding.count:
                out.append(f"{finding.count} x {finding.operation}: {'; '.join(finding.reasons)}")
            out.append(reproduction(finding))
    out.append("")
    out.append(
        f"requests: {report.requests}, 5xx: {report.server_errors}, "
        f"broken answers: {report.broken}, time: {report.seconds:.1f} s"
    )
    return "\n".join(out)
