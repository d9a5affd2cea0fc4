"""
The agent report: every backend report plus what an agent decides from them.

Its JSON shape is described by ``schemas/agent-report.schema.json``. The
``reports`` entries are wire reports in the Go form; ``diagnostics`` are
host-local and never part of a wire report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import attrs

from ._wire import (
    PROTOCOL_VERSION,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)
from .probes._types import ProbeDiagnostics, ProbeOutcome

# Stronger isolation first; a backend whose isolation is unknown ranks last.
ISOLATION_RANK = (
    RuntimeIsolationMode.CONFIDENTIAL_RUNTIME,
    RuntimeIsolationMode.MICROVM,
    RuntimeIsolationMode.VM_BACKED_CONTAINER,
    RuntimeIsolationMode.USER_NAMESPACE,
    RuntimeIsolationMode.SHARED_KERNEL_CONTAINER,
)
BURDEN_RANK = (
    RuntimeInstallBurden.SYSTEM_INSTALLED,
    RuntimeInstallBurden.BUNDLED,
    RuntimeInstallBurden.DESKTOP_MANAGED,
    RuntimeInstallBurden.WSL_HYPER_V,
)
PREFERENCE_RULE = (
    "strongest isolation mode, then system-installed over bundled over"
    " desktop-managed, then probe order"
)


@attrs.frozen(kw_only=True)
class StatusCounts:
    """Number of backend reports with each status."""

    supported: int = 0
    degraded: int = 0
    unsupported: int = 0


@attrs.frozen(kw_only=True)
class PreferredBackend:
    """The supported backend an agent should use for one runtime profile."""

    runtime_profile: RuntimeProfile
    backend_id: str
    rule: str = PREFERENCE_RULE


@attrs.frozen(kw_only=True)
class BackendAlias:
    """A backend whose command turned out to run another backend's engine."""

    backend_id: str
    alias_of: str


@attrs.frozen(kw_only=True)
class AgentReport:
    """One report for the agent: the backend reports and the aggregate fields."""

    protocol_version: str
    generated_at: datetime
    reports: tuple[RuntimeBackendReport, ...]
    counts: StatusCounts
    executor_providers: tuple[str, ...]
    preferred_backends: tuple[PreferredBackend, ...]
    aliases: tuple[BackendAlias, ...]
    bundles: tuple[Mapping[str, object], ...]
    diagnostics: tuple[ProbeDiagnostics, ...]


def build_agent_report(
    outcomes: Sequence[ProbeOutcome],
    *,
    generated_at: datetime,
    bundles: Sequence[Mapping[str, object]] = (),
) -> AgentReport:
    """Aggregate probe outcomes (in probe order) into one agent report."""
    reports = tuple(o.report for o in outcomes)
    return AgentReport(
        protocol_version=PROTOCOL_VERSION,
        generated_at=generated_at,
        reports=reports,
        counts=_count(reports),
        executor_providers=_providers(reports),
        preferred_backends=_preferred(reports),
        aliases=_aliases(outcomes),
        bundles=tuple(bundles),
        diagnostics=tuple(o.diagnostics for o in outcomes),
    )


def _count(reports: Sequence[RuntimeBackendReport]) -> StatusCounts:
    statuses = [r.status for r in reports]
    return StatusCounts(
        supported=statuses.count(RuntimeBackendStatus.SUPPORTED),
        degraded=statuses.count(RuntimeBackendStatus.DEGRADED),
        unsupported=statuses.count(RuntimeBackendStatus.UNSUPPORTED),
    )


def _providers(reports: Sequence[RuntimeBackendReport]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for report in reports:
        if report.status is RuntimeBackendStatus.SUPPORTED:
            seen.update(dict.fromkeys(report.executor_providers))
    return tuple(seen)


def _preferred(reports: Sequence[RuntimeBackendReport]) -> tuple[PreferredBackend, ...]:
    supported = [r for r in reports if r.status is RuntimeBackendStatus.SUPPORTED]
    choices: list[PreferredBackend] = []
    for profile in RuntimeProfile:
        candidates = [r for r in supported if profile in r.runtime_profiles]
        if candidates:
            best = min(candidates, key=lambda r: _rank(r, reports))
            choices.append(
                PreferredBackend(runtime_profile=profile, backend_id=best.backend_id)
            )
    return tuple(choices)


def _rank(
    report: RuntimeBackendReport, reports: Sequence[RuntimeBackendReport]
) -> tuple[int, int, int]:
    isolation = report.isolation_mode
    burden = report.install_burden
    return (
        ISOLATION_RANK.index(isolation)
        if isolation in ISOLATION_RANK
        else len(ISOLATION_RANK),
        BURDEN_RANK.index(burden) if burden in BURDEN_RANK else len(BURDEN_RANK),
        reports.index(report),
    )


def _aliases(outcomes: Sequence[ProbeOutcome]) -> tuple[BackendAlias, ...]:
    by_tool = {
        o.report.tool.value: o.report.backend_id for o in outcomes if o.report.tool
    }
    return tuple(
        BackendAlias(
            backend_id=o.report.backend_id,
            alias_of=by_tool.get(o.diagnostics.alias_of, o.diagnostics.alias_of),
        )
        for o in outcomes
        if o.diagnostics.alias_of
    )
