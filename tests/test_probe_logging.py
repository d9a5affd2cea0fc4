"""Log events of one probe run, as printed to a user running with -v."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from runtime_fakes import PODMAN_JSON, write_runtime
from wfc_container.probes import PODMAN, probe_backend


async def test_probe_logs_one_milestone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bin_dir = tmp_path / "bin"
    run = "echo 'Error: image not known' >&2\nexit 125"
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON, run_body=run)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    caplog.set_level(logging.INFO, logger="wfc_container")
    await probe_backend(
        PODMAN,
        image="example.test/x:1",
        environ=env,
        now=datetime(2026, 1, 1, tzinfo=UTC),
    )
    assert caplog.record_tuples == [
        (
            "wfc_container.probes",
            logging.INFO,
            "probe.backend.finished backend_id=podman-rootless status=degraded"
            " version=5.0.0 reason='run step: conformance image not present:"
            " example.test/x:1' error_line='Error: image not known' endpoint=None",
        )
    ]


async def test_probe_debug_logs_each_command(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bin_dir = tmp_path / "bin"
    write_runtime(bin_dir, "podman", version_json=PODMAN_JSON)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    caplog.set_level(logging.DEBUG, logger="wfc_container")
    await probe_backend(PODMAN, image="example.test/x:1", environ=env)
    events = [message.split()[0] for _, _, message in caplog.record_tuples]
    assert events == [
        "probe.backend.started",
        "probe.command.started",
        "probe.command.finished",
        "probe.command.started",
        "probe.command.finished",
        "probe.backend.finished",
    ]
