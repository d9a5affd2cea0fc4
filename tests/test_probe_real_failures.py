"""Real Podman and Docker clients failing on purpose: unreachable endpoints."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wfc_container import RuntimeBackendStatus
from wfc_container._report_rules import validate_report
from wfc_container.probes import DOCKER, PODMAN, ProbeTimeouts, probe_backend

pytestmark = pytest.mark.real
NOW = datetime(2026, 12, 4, tzinfo=UTC)


def real_environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {"PATH": path, "HOME": str(tmp_path), **extra}


def require(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed, but real-runtime tests were requested")


async def test_real_docker_without_daemon(tmp_path: Path) -> None:
    require("docker")
    endpoint = f"unix://{tmp_path}/absent.sock"
    outcome = await probe_backend(
        DOCKER, environ=real_environ(tmp_path, DOCKER_HOST=endpoint), now=NOW
    )
    report = outcome.report
    assert report.status is RuntimeBackendStatus.DEGRADED
    assert report.reason.startswith("version step: daemon or service unreachable")
    assert report.version != ""
    assert outcome.diagnostics.endpoint == endpoint
    assert str(tmp_path) in (outcome.diagnostics.error_line or "")
    assert str(tmp_path) not in report.reason
    validate_report(report, now=NOW)


async def test_real_podman_remote_unreachable(tmp_path: Path) -> None:
    require("podman")
    endpoint = f"unix://{tmp_path}/absent-podman.sock"
    outcome = await probe_backend(
        PODMAN,
        environ=real_environ(tmp_path, CONTAINER_HOST=endpoint),
        timeouts=ProbeTimeouts(version=30),
        now=NOW,
    )
    report = outcome.report
    assert report.status is RuntimeBackendStatus.DEGRADED
    assert report.reason.endswith("installed, connection or machine unreachable")
    assert outcome.diagnostics.error_line is not None
    assert outcome.diagnostics.error_line.startswith("Cannot connect to Podman")
    validate_report(report, now=NOW)


async def test_real_missing_image_is_named(tmp_path: Path) -> None:
    require("podman")
    image = "localhost/wfcompute-absent:0"
    outcome = await probe_backend(
        PODMAN, image=image, environ=real_environ(tmp_path), now=NOW
    )
    assert outcome.report.status is RuntimeBackendStatus.DEGRADED
    assert outcome.report.reason == f"run step: conformance image not present: {image}"
