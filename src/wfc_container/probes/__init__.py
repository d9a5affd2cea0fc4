"""Concurrent, evidence-based probes of Podman, Docker and nerdctl."""

from __future__ import annotations

from ._types import (
    BackendDefinition,
    ProbeDiagnostics,
    ProbeOutcome,
    ProbeTimeouts,
    StepRecord,
)

__all__ = (
    "BackendDefinition",
    "ProbeDiagnostics",
    "ProbeOutcome",
    "ProbeTimeouts",
    "StepRecord",
)
