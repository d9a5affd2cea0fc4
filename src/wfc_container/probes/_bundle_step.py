"""Checks a managed (bundled) backend must pass before any command runs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .._wire import RuntimeBackendStatus, RuntimeInstallBurden
from ._classify import Cause
from ._verdicts import Verdict

if TYPE_CHECKING:
    from ._probe_state import ProbeState


def check_bundle(state: ProbeState) -> Verdict | None:
    """
    Validate the bundle of a managed backend and adopt its identity.

    After this the report carries the bundle, and its version, family, tool, os
    and arch, whatever later steps decide.
    """
    definition = state.definition
    if definition.install_burden is not RuntimeInstallBurden.BUNDLED:
        return None

    if definition.bundle is None:
        return _unsupported("no bundle in the definition")
    if not os.path.isabs(definition.executable):
        return _unsupported("executable path is not absolute")

    # Imported here: only managed backends need the descriptor rules.
    from .._bundle_rules import bundle_problems

    bundle = definition.bundle
    problems = bundle_problems(bundle, now=state.now)
    if problems:
        return Verdict(
            status=RuntimeBackendStatus.DEGRADED,
            step="bundle",
            cause=Cause.BUNDLE_INVALID,
            detail="; ".join(problems),
        )

    state.bundle = bundle
    state.version = bundle.version
    state.family = bundle.family or state.family
    state.tool = bundle.tool or state.tool
    state.os = bundle.os or state.os
    state.arch = bundle.arch or state.arch
    scope = definition.scope_args
    if len(scope) == 2 and scope[0] == "--namespace":
        state.scope_name = scope[1]
    return None


def _unsupported(detail: str) -> Verdict:
    return Verdict(
        status=RuntimeBackendStatus.UNSUPPORTED,
        step="bundle",
        cause=Cause.BUNDLE_UNAVAILABLE,
        detail=detail,
    )
