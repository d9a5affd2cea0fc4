"""Turn a finished probe's state and verdict into the report and diagnostics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from .._wire import PROTOCOL_VERSION, RuntimeBackendReport, RuntimeBackendStatus
from ._hostinfo import host_arch, host_os
from ._types import ProbeOutcome
from ._verdicts import Verdict, build_executors, hint_for, shippable_reason

if TYPE_CHECKING:
    from ._probe_state import ProbeState


def finish_outcome(state: ProbeState, verdict: Verdict | None) -> ProbeOutcome:
    """
    Build the outcome: supported with executors when ``verdict`` is ``None``.

    Otherwise the verdict's status and shippable reason; executors are only
    ever advertised by a supported report.
    """
    report = _base_report(state)
    if verdict is None:
        providers, executors = build_executors(
            state.definition.runtime_profiles, state.version
        )
        report = attrs.evolve(report, executor_providers=providers, executors=executors)
        return ProbeOutcome(report=report, diagnostics=state.diagnostics())

    reason, removed = shippable_reason(verdict)
    report = attrs.evolve(report, status=verdict.status, reason=reason)
    state.note_removed(removed)
    state.hint = state.hint or hint_for(verdict.cause, state.definition.tool.value)
    return ProbeOutcome(report=report, diagnostics=state.diagnostics())


def _base_report(state: ProbeState) -> RuntimeBackendReport:
    definition = state.definition
    return RuntimeBackendReport(
        protocol_version=PROTOCOL_VERSION,
        backend_id=definition.backend_id,
        family=state.family,
        tool=state.tool,
        version=state.version,
        os=state.os or host_os(),
        arch=state.arch or host_arch(),
        status=RuntimeBackendStatus.SUPPORTED,
        isolation_mode=state.isolation_mode,
        install_burden=state.install_burden,
        runtime_profiles=definition.runtime_profiles,
        conformance_profiles=definition.conformance_profiles,
        evidence=state.evidence,
        bundle=state.bundle,
        generated_at=state.now,
        constraints=state.constraints(),
    )
