"""
The run and evidence steps: run the conformance container, then check its output.

A timed-out or cancelled run also force-removes the container by name, because
killing the CLI client does not stop a container the daemon already started.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import anyio
import attrs

from .._meta import PROBE_IMAGE_REFERENCE
from .._textrules import scrub_public_text
from .._wire import RuntimeBackendStatus
from ._classify import (
    Cause,
    classify,
    error_line,
    is_label_failure,
    is_workspace_denied,
    meaningful_lines,
)
from ._conformance import (
    RunPlan,
    Workspace,
    build_remove_argv,
    build_run_argv,
    create_workspace,
    new_container_name,
    remove_workspace,
)
from ._evidence import EvidenceCheck, check_evidence
from ._types import SEED_CONFORMANCE_IMAGE
from ._verdicts import Verdict

if TYPE_CHECKING:
    from ._probe_state import ProbeState
    from ._process import CommandResult

DEGRADED = RuntimeBackendStatus.DEGRADED
# Bound on the shielded "rm -f" after a timeout; a runtime that hangs there too
# cannot hold the report back for longer than this.
REMOVE_TIMEOUT = 3.0
IMAGE_DETAIL_PREFIX = "conformance-image:"
# How long a container name must stay absent before removal counts as done, and
# how often removal is retried meanwhile.
ABSENT_GRACE = 1.0
REMOVE_INTERVAL = 0.2


async def run_conformance_step(state: ProbeState) -> Verdict | None:
    """Run the conformance container and check its evidence; a verdict on failure."""
    state.current_step = "run"
    limit = state.timeouts.run
    try:
        workspace = create_workspace()
    except OSError as exc:
        detail = exc.strerror or type(exc).__name__
        return Verdict(
            status=DEGRADED, step="run", cause=Cause.WORKSPACE_FAILED, detail=detail
        )

    try:
        try:
            with anyio.fail_after(limit):
                outcome = await _run_attempts(state, workspace)
        except TimeoutError:
            return state.timed_out("run", limit)

        if isinstance(outcome, Verdict):
            return outcome
        return await _evidence_step(state, outcome, workspace)
    finally:
        remove_workspace(workspace)


async def _run_attempts(
    state: ProbeState, workspace: Workspace
) -> CommandResult | Verdict:
    plan = RunPlan(
        executable=state.executable or state.definition.executable,
        scope_args=state.definition.scope_args,
        image=await _pick_image(state),
        command=state.definition.command,
        container_name=new_container_name(),
        workspace=workspace.path,
        keep_id=state.keep_id,
        scope_name=state.scope_name,
    )
    state.image_used = plan.image
    result = await _run_container(state, plan)
    if result.exit_code == 0 or not is_workspace_denied(_output(result)):
        return _judge_run(state, result)

    # SELinux hosts refuse an unlabelled bind mount: try once with a private
    # label and keep both errors for the person reading the diagnostics.
    state.notes.append(f"workspace unreadable without a label: {_first_line(result)}")
    labelled = attrs.evolve(plan, mount_label="z", container_name=new_container_name())
    retry = await _run_container(state, labelled)
    if retry.exit_code == 0:
        return retry
    state.notes.append(f"workspace mount with label z failed: {_first_line(retry)}")
    if is_label_failure(_output(retry)) or is_workspace_denied(_output(retry)):
        state.error_line = _first_line(retry)
        return Verdict(
            status=DEGRADED,
            step="run",
            cause=Cause.WORKSPACE_UNREADABLE,
            detail="SELinux or user namespace",
        )
    return _judge_run(state, retry)


async def _pick_image(state: ProbeState) -> str:
    if state.image:
        return state.image
    argv = (
        state.executable or state.definition.executable,
        *state.definition.scope_args,
        "image",
        "inspect",
        "--format",
        "{{.Id}}",
        PROBE_IMAGE_REFERENCE,
    )
    result = await state.command("run", argv)
    return PROBE_IMAGE_REFERENCE if result.exit_code == 0 else SEED_CONFORMANCE_IMAGE


async def _run_container(state: ProbeState, plan: RunPlan) -> CommandResult:
    try:
        return await state.command("run", build_run_argv(plan))
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(REMOVE_TIMEOUT):
            await _remove_container(state, plan)
        raise


async def _remove_container(state: ProbeState, plan: RunPlan) -> None:
    """
    Force-remove the named container, also when its create request is in flight.

    The killed client may already have sent "create", so a first ``rm -f`` can
    find nothing while the daemon is still creating the container. Removal
    repeats until the name has been absent for ``ABSENT_GRACE`` seconds;
    ``rm -f`` prints the name of each container it removed.
    """
    absent_since: float | None = None
    while True:
        result = await state.command("cleanup", build_remove_argv(plan))
        now = anyio.current_time()
        if result.stdout.strip():
            absent_since = None
        elif absent_since is None:
            absent_since = now
        elif now - absent_since >= ABSENT_GRACE:
            return
        await anyio.sleep(REMOVE_INTERVAL)


def _judge_run(state: ProbeState, result: CommandResult) -> CommandResult | Verdict:
    """Accept any run that printed an evidence line; classify the rest."""
    if result.exit_code == 0 or b"{" in result.stdout:
        return result
    lines = meaningful_lines(result.stderr) + meaningful_lines(result.stdout)
    cause = classify("\n".join(lines))
    if cause not in (Cause.IMAGE_MISSING, Cause.PROBE_PROGRAM_MISSING):
        cause = Cause.RUN_FAILED
    state.error_line = error_line(lines, cause)
    detail = state.image_used if cause is Cause.IMAGE_MISSING else ""
    if cause is Cause.RUN_FAILED:
        detail = f"exit code {result.exit_code}"
    return Verdict(status=DEGRADED, step="run", cause=cause, detail=detail or "")


async def _evidence_step(
    state: ProbeState, result: CommandResult, workspace: Workspace
) -> Verdict | None:
    state.current_step = "evidence"
    limit = state.timeouts.evidence
    check_fn = functools.partial(
        check_evidence, result.stdout, workspace, scope_name=state.scope_name
    )
    try:
        with anyio.fail_after(limit):
            check = await anyio.to_thread.run_sync(check_fn, abandon_on_cancel=True)
    except TimeoutError:
        return state.timed_out("evidence", limit)

    if check.not_json is not None:
        state.error_line = _first_line(result)
        cause = Cause.EVIDENCE_NOT_JSON
        return Verdict(
            status=DEGRADED, step="evidence", cause=cause, detail=check.not_json
        )

    if check.invalid:
        cause = Cause.EVIDENCE_INVALID
        detail = "; ".join(check.invalid)
        return Verdict(status=DEGRADED, step="evidence", cause=cause, detail=detail)

    _accept_evidence(state, check)
    if check.problems:
        detail = ", ".join(check.problems)
        cause = Cause.EVIDENCE_INCOMPLETE
        return Verdict(status=DEGRADED, step="evidence", cause=cause, detail=detail)
    return None


def _accept_evidence(state: ProbeState, check: EvidenceCheck) -> None:
    """Keep the checked evidence, with the host's own detail naming the image."""
    assert check.evidence is not None
    image = scrub_public_text(f"{IMAGE_DETAIL_PREFIX}{state.image_used}").text
    details = (*check.evidence.details, image)
    state.evidence = attrs.evolve(check.evidence, details=details)
    state.note_removed(check.removed_from_details)


def _output(result: CommandResult) -> str:
    return (result.stdout + b"\n" + result.stderr).decode("utf-8", errors="replace")


def _first_line(result: CommandResult) -> str:
    lines = meaningful_lines(result.stderr) + meaningful_lines(result.stdout)
    return error_line(lines) or f"exit code {result.exit_code}"
