"""Value types of the probe engine: backend definitions, step limits, outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import attrs

from .._wire import (
    ContainerRuntimeTool,
    ManagedRuntimeBundleDescriptor,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)

DEFAULT_CONFORMANCE_COMMAND = "/usr/local/bin/wfcompute-sandbox-probe"
DEFAULT_CONFORMANCE_PROFILE = "distroless-static-v1"
# The seed's image: a distroless base without the probe program. A probe with it
# can at best report the image missing; the project's own image replaces it.
SEED_CONFORMANCE_IMAGE = (
    "gcr.io/distroless/static-debian13@sha256:"
    "3592aa8171c77482f62bbc4164e6a2d141c6122554ace66e5cc910cadb961ff0"
)
STEPS = ("find", "version", "run", "evidence")


@attrs.frozen(kw_only=True)
class ProbeTimeouts:
    """
    Limit in seconds for each probe step.

    ``find`` looks up the executable, ``version`` queries the runtime for its version
    and server, ``run`` runs the conformance container, and ``evidence`` parses
    and checks what the container printed.
    """

    find: float = 2.0
    version: float = 10.0
    run: float = 60.0
    evidence: float = 2.0

    @classmethod
    def uniform(cls, timeout: float) -> ProbeTimeouts:
        """Return limits that give every step the same ``timeout`` in seconds."""
        return cls(find=timeout, version=timeout, run=timeout, evidence=timeout)

    def for_step(self, step: str) -> float:
        """Return the limit of ``step`` in seconds."""
        limit: float = getattr(self, step)
        return limit


@attrs.frozen(kw_only=True)
class BackendDefinition:
    """
    One runtime backend to probe.

    ``executable`` is a command name looked up on ``PATH`` or an absolute path.
    ``isolation_mode`` and ``install_burden`` are what the definition expects;
    the report states what the probe found, which may differ. ``image`` of
    ``None`` picks the default conformance image. ``extra_env`` is added to the
    explicit environment of every command the probe runs for this backend.
    """

    backend_id: str
    family: RuntimeBackendFamily
    tool: ContainerRuntimeTool
    executable: str
    isolation_mode: RuntimeIsolationMode
    install_burden: RuntimeInstallBurden
    runtime_profiles: tuple[RuntimeProfile, ...] = (
        RuntimeProfile.SANDBOXED_OCI_V1,
        RuntimeProfile.CONTAINER_BUILD_V1,
    )
    conformance_profiles: tuple[str, ...] = (DEFAULT_CONFORMANCE_PROFILE,)
    image: str | None = None
    command: tuple[str, ...] = (DEFAULT_CONFORMANCE_COMMAND,)
    scope_args: tuple[str, ...] = ()
    bundle: ManagedRuntimeBundleDescriptor | None = None
    extra_env: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class StepRecord:
    """Record of one command of a probe step, kept for local diagnostics only."""

    step: str
    argv: tuple[str, ...]
    exit_code: int | None
    duration: float
    stderr_lines: tuple[str, ...] = ()
    timed_out: bool = False


@attrs.frozen(kw_only=True)
class ProbeDiagnostics:
    """
    Host-local facts beside a report: never shipped, shown by the CLI and logged.

    These may hold paths, endpoints and the runtime's own error lines, which the
    public-text rule keeps out of the wire report.
    """

    backend_id: str
    executable: str | None = None
    detected: str = ""
    endpoint: str | None = None
    context: str | None = None
    image: str | None = None
    error_line: str | None = None
    hint: str | None = None
    alias_of: str | None = None
    removed_from_report: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    steps: tuple[StepRecord, ...] = ()


@attrs.frozen(kw_only=True)
class ProbeOutcome:
    """A backend's wire report and the local diagnostics that explain it."""

    report: RuntimeBackendReport
    diagnostics: ProbeDiagnostics


class ManagedPlan(Protocol):
    """A managed bundle to probe, as the bundle code plans it."""

    @property
    def definition(self) -> BackendDefinition:
        """The backend definition that runs the installed ``bin/nerdctl``."""

    @property
    def blocked_reason(self) -> str | None:
        """Shippable reason not to run anything (install broken), or ``None``."""

    @property
    def state(self) -> Mapping[str, object]:
        """JSON-ready doctor result for the agent report's bundle section."""
