"""Render an agent report as a table for people at a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._aggregate import AgentReport


def render_table(report: AgentReport) -> str:
    """Return the report as an aligned table followed by per-backend diagnostics."""
    rows = [("BACKEND", "STATUS", "VERSION", "DETAIL")]
    for item in report.reports:
        detail = item.reason or "; ".join(item.constraints)
        status = item.status.value if item.status else "-"
        rows.append((item.backend_id, status, item.version or "-", detail))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        + "  "
        + row[3]
        for row in rows
    ]
    counts = report.counts
    lines.append("")
    lines.append(
        f"supported {counts.supported}, degraded {counts.degraded},"
        f" unsupported {counts.unsupported}"
    )
    for choice in report.preferred_backends:
        lines.append(
            f"preferred for {choice.runtime_profile.value}: {choice.backend_id}"
        )
    lines.extend(_diagnostic_lines(report))
    return "\n".join(lines) + "\n"


def _diagnostic_lines(report: AgentReport) -> list[str]:
    lines: list[str] = []
    for diag in report.diagnostics:
        facts = [
            ("executable", diag.executable),
            ("detected", diag.detected or None),
            ("endpoint", diag.endpoint),
            ("context", diag.context),
            ("image", diag.image),
            ("error", diag.error_line),
            ("hint", diag.hint),
            ("removed from report", ", ".join(diag.removed_from_report) or None),
        ]
        shown = [(name, value) for name, value in facts if value]
        if not shown and not diag.notes:
            continue
        lines.append("")
        lines.append(f"{diag.backend_id}:")
        lines.extend(f"  {name}: {value}" for name, value in shown)
        lines.extend(f"  note: {n}" for n in diag.notes if n != diag.error_line)
    return lines
