"""
Probe one backend: find, version, run, evidence, each under its own timeout.

The first step that fails decides the verdict; a failure is returned as data,
never raised. Facts found by earlier steps (the version, what was detected)
stay in the report.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import anyio

from .._wire import RuntimeBackendStatus
from ._bundle_step import check_bundle
from ._classify import Cause
from ._env import build_child_env
from ._outcome import finish_outcome
from ._probe_state import ProbeState
from ._run_step import run_conformance_step
from ._types import BackendDefinition, ProbeOutcome, ProbeTimeouts
from ._verdicts import Verdict
from ._version_step import run_version_step

if TYPE_CHECKING:
    from collections.abc import Mapping

logger = logging.getLogger("wfc_container.probes")


async def probe_backend(
    definition: BackendDefinition,
    *,
    image: str | None = None,
    timeouts: ProbeTimeouts | None = None,
    timeout: float | None = None,
    environ: Mapping[str, str] | None = None,
    now: datetime | None = None,
) -> ProbeOutcome:
    """
    Probe one backend and return its report with local diagnostics.

    :param definition: the backend to probe.
    :param image: conformance image; ``None`` uses the definition's image, or the
        project's probe image when the backend has it, else the seed image.
    :param timeouts: per-step limits in seconds (defaults: find 2, version 10,
        run 60, evidence 2).
    :param timeout: when set, the limit in seconds for every step, overriding
        ``timeouts``; ``None`` (the default) keeps ``timeouts``.
    :param environ: the environment the child environment is built from
        (default: this process's).
    :param now: the report's ``generated_at`` (default: the current UTC time).
    :returns: the report and its diagnostics; a broken backend is a report, not
        an exception.
    """
    state = _new_state(definition, image, timeouts, timeout, environ, now)
    logger.debug("probe.backend.started backend_id=%s", definition.backend_id)
    try:
        verdict = await _run_steps(state)
    except Exception as exc:  # noqa: BLE001 - one broken backend must not stop the rest
        logger.warning(
            "probe.backend.crashed backend_id=%s error=%r", definition.backend_id, exc
        )
        # The runtime was found and responded, so only the probe itself failed.
        verdict = Verdict(
            status=RuntimeBackendStatus.DEGRADED,
            step=state.current_step,
            cause=Cause.INTERNAL,
            detail=type(exc).__name__,
        )

    outcome = finish_outcome(state, verdict)
    _log_outcome(outcome)
    return outcome


def _new_state(
    definition: BackendDefinition,
    image: str | None,
    timeouts: ProbeTimeouts | None,
    timeout: float | None,
    environ: Mapping[str, str] | None,
    now: datetime | None,
) -> ProbeState:
    limits = ProbeTimeouts.uniform(timeout) if timeout is not None else timeouts
    child = build_child_env(
        os.environ if environ is None else environ, extra=definition.extra_env
    )
    state = ProbeState(
        definition=definition,
        image=image or definition.image,
        timeouts=limits or ProbeTimeouts(),
        env=child.env,
        now=(now or datetime.now(UTC)).astimezone(UTC),
    )
    for name in child.dropped_empty:
        state.notes.append(f"ignored empty {name} (it would switch the runtime mode)")
    return state


def _log_outcome(outcome: ProbeOutcome) -> None:
    report, diagnostics = outcome.report, outcome.diagnostics
    logger.info(
        "probe.backend.finished backend_id=%s status=%s version=%s reason=%r"
        " error_line=%r endpoint=%r",
        report.backend_id,
        report.status,
        report.version,
        report.reason,
        diagnostics.error_line,
        diagnostics.endpoint,
    )


async def _run_steps(state: ProbeState) -> Verdict | None:
    verdict = check_bundle(state)
    if verdict is not None:
        return verdict

    verdict = await _find(state)
    if verdict is not None:
        return verdict

    verdict = await run_version_step(state)
    if verdict is not None:
        return verdict

    verdict = await run_conformance_step(state)
    return verdict or state.sticky


async def _find(state: ProbeState) -> Verdict | None:
    state.current_step = "find"
    name = state.definition.executable
    limit = state.timeouts.find
    try:
        with anyio.fail_after(limit):
            found = await anyio.to_thread.run_sync(
                _which, name, state.env["PATH"], abandon_on_cancel=True
            )
    except TimeoutError:
        return state.timed_out("find", limit)

    if found is None:
        status = RuntimeBackendStatus.UNSUPPORTED
        detail = f"no executable {os.path.basename(name)!r} found"
        return Verdict(
            status=status, step="find", cause=Cause.NOT_INSTALLED, detail=detail
        )

    state.executable = found
    return None


def _which(name: str, path: str) -> str | None:
    if os.path.isabs(name):
        is_file = os.path.isfile(name) and os.access(name, os.X_OK)
        return name if is_file else None
    return shutil.which(name, path=path)
