"""Mutable state of one backend probe while its steps run."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from .._textrules import scrub_public_text
from .._wire import (
    ContainerRuntimeTool,
    ManagedRuntimeBundleDescriptor,
    RuntimeBackendEvidence,
    RuntimeBackendFamily,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
)
from ._classify import Cause, meaningful_lines
from ._process import CommandResult, run_command
from ._types import BackendDefinition, ProbeDiagnostics, ProbeTimeouts, StepRecord
from ._verdicts import Verdict

if TYPE_CHECKING:
    from collections.abc import Sequence

# Bounds on how much runtime output a probe keeps for its diagnostics: a runtime
# that floods stderr must not flood the terminal or the JSON report.
MAX_KEPT_LINES = 20
MAX_NOTES = 100


@attrs.define
class ProbeState:
    """Everything a probe learned so far; the engine turns it into a report."""

    definition: BackendDefinition
    image: str | None
    timeouts: ProbeTimeouts
    env: dict[str, str]
    now: datetime
    current_step: str = "find"
    executable: str | None = None
    version: str = ""
    os: str = ""
    arch: str = ""
    bundle: ManagedRuntimeBundleDescriptor | None = None
    evidence: RuntimeBackendEvidence = attrs.Factory(RuntimeBackendEvidence)
    family: RuntimeBackendFamily | None = None
    tool: ContainerRuntimeTool | None = None
    isolation_mode: RuntimeIsolationMode | None = None
    install_burden: RuntimeInstallBurden | None = None
    detected: str = ""
    podman_remote: bool = False
    keep_id: bool = False
    scope_name: str | None = None
    endpoint: str | None = None
    context: str | None = None
    image_used: str | None = None
    error_line: str | None = None
    hint: str | None = None
    alias_of: str | None = None
    sticky: Verdict | None = None
    notes: list[str] = attrs.Factory(list)
    removed: list[str] = attrs.Factory(list)
    records: list[StepRecord] = attrs.Factory(list)

    def __attrs_post_init__(self) -> None:
        self.family = self.definition.family
        self.tool = self.definition.tool
        self.isolation_mode = self.definition.isolation_mode
        self.install_burden = self.definition.install_burden

    async def command(self, step: str, argv: Sequence[str]) -> CommandResult:
        """
        Run one runtime command for ``step`` and record what it did.

        A command cut short by a timeout or cancellation is recorded too, with
        no exit code, before the interruption propagates.
        """
        started = time.monotonic()
        try:
            result = await run_command(argv, env=self.env, timeout=None, step=step)
        except BaseException:
            elapsed = time.monotonic() - started
            self.records.append(
                StepRecord(
                    step=step,
                    argv=tuple(argv),
                    exit_code=None,
                    duration=elapsed,
                    timed_out=True,
                )
            )
            raise

        self.records.append(
            StepRecord(
                step=step,
                argv=tuple(argv),
                exit_code=result.exit_code,
                duration=result.duration,
                stderr_lines=meaningful_lines(result.stderr)[:MAX_KEPT_LINES],
            )
        )
        return result

    def add_notes(self, lines: Sequence[str]) -> None:
        """Keep up to ``MAX_KEPT_LINES`` more lines of runtime output as notes."""
        room = max(0, min(MAX_NOTES - len(self.notes), MAX_KEPT_LINES))
        self.notes.extend(lines[:room])

    def note_removed(self, categories: Sequence[str]) -> None:
        """Record what scrubbing removed from shipped text, each category once."""
        self.removed.extend(c for c in categories if c not in self.removed)

    def timed_out(self, step: str, limit: float) -> Verdict:
        """Return the verdict of a step that ran out of time."""
        if not (self.records and self.records[-1].timed_out):
            # No command was running (the find step), so record the step itself.
            self.records.append(
                StepRecord(
                    step=step, argv=(), exit_code=None, duration=limit, timed_out=True
                )
            )
        return Verdict(
            status=RuntimeBackendStatus.DEGRADED,
            step=step,
            cause=Cause.TIMED_OUT,
            detail=f"{limit:g} s",
        )

    def constraints(self) -> tuple[str, ...]:
        """Return the shippable description of what the probe detected."""
        if not self.detected:
            return ()
        scrubbed = scrub_public_text(f"detected {self.detected}")
        self.note_removed(scrubbed.removed)
        return (scrubbed.text,)

    def diagnostics(self) -> ProbeDiagnostics:
        """Return the host-local diagnostics gathered so far."""
        return ProbeDiagnostics(
            backend_id=self.definition.backend_id,
            executable=self.executable,
            detected=self.detected,
            endpoint=self.endpoint,
            context=self.context,
            image=self.image_used,
            error_line=self.error_line,
            hint=self.hint,
            alias_of=self.alias_of,
            removed_from_report=tuple(self.removed),
            notes=tuple(self.notes),
            steps=tuple(self.records),
        )
