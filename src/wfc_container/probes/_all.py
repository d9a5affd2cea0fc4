"""Probe every backend concurrently and aggregate the reports."""

from __future__ import annotations

import functools
import logging
import math
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio
import attrs

from .._aggregate import AgentReport, build_agent_report
from .._errors import ProbeConfigError
from .._textrules import scrub_public_text
from .._wire import PROTOCOL_VERSION, RuntimeBackendReport, RuntimeBackendStatus
from ._builtin import BUILTIN_BACKENDS
from ._engine import probe_backend
from ._hostinfo import host_arch, host_os
from ._types import (
    BackendDefinition,
    ManagedPlan,
    ProbeDiagnostics,
    ProbeOutcome,
    ProbeTimeouts,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

logger = logging.getLogger("wfc_container.probes")


async def probe_all(
    *,
    backends: Sequence[BackendDefinition] | None = None,
    image: str | None = None,
    timeouts: ProbeTimeouts | None = None,
    timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
    catalog: Path | None = None,
    install_root: Path | None = None,
    now: datetime | None = None,
) -> AgentReport:
    """
    Probe all backends concurrently and return the agent report.

    Each backend runs in its own task. One that fails, hangs or crashes only
    affects its own report, and never for longer than its step limits.

    :param backends: definitions to probe (default: podman, docker, nerdctl).
    :param image: conformance image for every backend (default: the project's
        probe image where the backend has it, else the seed image).
    :param timeouts: per-step limits in seconds (see :class:`ProbeTimeouts`).
    :param timeout: when set, the limit in seconds of every step, overriding
        ``timeouts``; ``None`` (the default) keeps ``timeouts``.
    :param environ: environment to build each child environment from
        (default: this process's).
    :param catalog: managed runtime bundle catalog; with ``install_root``, the
        installed bundles for this host are probed too.
    :param install_root: root of the managed runtime installs.
    :param now: ``generated_at`` of every report (default: the current time).
    :returns: the aggregate report, reports in the order probed.
    :raises ProbeConfigError: for an image that starts with ``-``, a limit that
        is not a positive number, or two backends with one id.
    """
    definitions = list(BUILTIN_BACKENDS if backends is None else backends)
    generated_at = (now or datetime.now(UTC)).astimezone(UTC)
    plans, bundle_states = await _managed_plans(catalog, install_root, generated_at)
    definitions.extend(plan.definition for plan in plans)
    _check_settings(definitions, image, timeouts, timeout)
    blocked = {p.definition.backend_id: p.blocked_reason for p in plans}
    options = _ProbeOptions(
        image=image,
        timeouts=timeouts,
        timeout=timeout,
        environ=dict(os.environ if environ is None else environ),
        now=generated_at,
    )

    logger.info("probe.all.started backends=%d", len(definitions))
    outcomes = await _probe_concurrently(definitions, blocked, options)
    report = build_agent_report(
        outcomes, generated_at=generated_at, bundles=bundle_states
    )
    logger.info(
        "probe.all.finished supported=%d degraded=%d unsupported=%d",
        report.counts.supported,
        report.counts.degraded,
        report.counts.unsupported,
    )
    return report


@attrs.frozen(kw_only=True)
class _ProbeOptions:
    image: str | None
    timeouts: ProbeTimeouts | None
    timeout: float | None
    environ: dict[str, str]
    now: datetime


async def _probe_concurrently(
    definitions: Sequence[BackendDefinition],
    blocked: Mapping[str, str | None],
    options: _ProbeOptions,
) -> list[ProbeOutcome]:
    """Probe every definition in one task group; results keep the input order."""
    outcomes: list[ProbeOutcome | None] = [None] * len(definitions)

    async def probe_one(index: int, definition: BackendDefinition) -> None:
        reason = blocked.get(definition.backend_id)
        if reason:
            outcomes[index] = _blocked_outcome(definition, reason, options.now)
            return
        outcomes[index] = await probe_backend(
            definition,
            image=options.image,
            timeouts=options.timeouts,
            timeout=options.timeout,
            environ=options.environ,
            now=options.now,
        )

    async with anyio.create_task_group() as group:
        for index, definition in enumerate(definitions):
            group.start_soon(probe_one, index, definition)
    return [outcome for outcome in outcomes if outcome is not None]


def _check_settings(
    definitions: Sequence[BackendDefinition],
    image: str | None,
    timeouts: ProbeTimeouts | None,
    timeout: float | None,
) -> None:
    images = [image] + [d.image for d in definitions]
    for value in images:
        if value is not None and (not value.strip() or value.startswith("-")):
            raise ProbeConfigError(
                field="image",
                value=value,
                expected="a non-empty image reference that does not start with '-'",
            )
    limits = [timeout] if timeout is not None else []
    limits += list(attrs.astuple(timeouts)) if timeouts is not None else []
    for limit in limits:
        if not (isinstance(limit, int | float) and math.isfinite(limit) and limit > 0):
            raise ProbeConfigError(
                field="step timeout",
                value=limit,
                expected="a positive number of seconds",
            )
    ids = [d.backend_id for d in definitions]
    for backend_id in ids:
        if ids.count(backend_id) > 1:
            raise ProbeConfigError(
                field="backend_id", value=backend_id, expected="unique backend ids"
            )


async def _managed_plans(
    catalog: Path | None, install_root: Path | None, now: datetime
) -> tuple[list[ManagedPlan], list[Mapping[str, object]]]:
    if catalog is None or install_root is None:
        return [], []
    from ..bundles._probe import plan_managed_probes

    # Planning hashes every installed file (about 0.5 s for nerdctl-full), so it
    # runs in a worker thread rather than on the event loop.
    plan = functools.partial(plan_managed_probes, catalog, install_root, now=now)
    plans = await anyio.to_thread.run_sync(plan)
    return list(plans), [plan.state for plan in plans]


def _blocked_outcome(
    definition: BackendDefinition, reason: str, now: datetime
) -> ProbeOutcome:
    bundle = definition.bundle
    report = RuntimeBackendReport(
        protocol_version=PROTOCOL_VERSION,
        backend_id=definition.backend_id,
        family=(bundle.family if bundle else None) or definition.family,
        tool=(bundle.tool if bundle else None) or definition.tool,
        version=bundle.version if bundle else "",
        os=bundle.os if bundle else host_os(),
        arch=bundle.arch if bundle else host_arch(),
        status=RuntimeBackendStatus.DEGRADED,
        reason=scrub_public_text(f"bundle step: {reason}").text,
        isolation_mode=definition.isolation_mode,
        install_burden=definition.install_burden,
        runtime_profiles=definition.runtime_profiles,
        conformance_profiles=definition.conformance_profiles,
        bundle=bundle,
        generated_at=now,
    )
    diagnostics = ProbeDiagnostics(
        backend_id=definition.backend_id,
        executable=definition.executable,
        notes=(f"managed runtime not probed: {reason}",),
    )
    return ProbeOutcome(report=report, diagnostics=diagnostics)
