"""Concurrent, evidence-based probes of Podman, Docker and nerdctl."""

from __future__ import annotations

from ._all import probe_all
from ._builtin import BUILTIN_BACKENDS, DOCKER, NERDCTL, PODMAN, select_backends
from ._engine import probe_backend
from ._process import become_subreaper
from ._types import (
    DEFAULT_CONFORMANCE_COMMAND,
    SEED_CONFORMANCE_IMAGE,
    BackendDefinition,
    ManagedPlan,
    ProbeDiagnostics,
    ProbeOutcome,
    ProbeTimeouts,
    StepRecord,
)

__all__ = (
    "BUILTIN_BACKENDS",
    "DEFAULT_CONFORMANCE_COMMAND",
    "DOCKER",
    "NERDCTL",
    "PODMAN",
    "SEED_CONFORMANCE_IMAGE",
    "BackendDefinition",
    "ManagedPlan",
    "ProbeDiagnostics",
    "ProbeOutcome",
    "ProbeTimeouts",
    "StepRecord",
    "become_subreaper",
    "probe_all",
    "probe_backend",
    "select_backends",
)
