"""Shared pytest configuration: real-runtime gating and clean child environments."""

from __future__ import annotations

import os

import pytest

REAL_ENV = "WORKFLOW_COMPUTE_RUNTIME_PROBE_REAL"


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip tests marked ``real`` unless the real-runtime variable is set to 1."""
    if os.environ.get(REAL_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"set {REAL_ENV}=1 to run against real runtimes")
    for item in items:
        if "real" in item.keywords:
            item.add_marker(skip)
