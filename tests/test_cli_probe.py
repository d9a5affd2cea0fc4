"""The probe command as a user runs it: a real subprocess with fakes on PATH."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime_fakes import DOCKER_JSON, PODMAN_JSON, write_runtime


def run_cli(bin_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir.parent)}
    return subprocess.run(
        [sys.executable, "-m", "wfc_container", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    write_runtime(path, "podman", version_json=PODMAN_JSON)
    write_runtime(path, "docker", version_json=DOCKER_JSON)
    return path


def test_probe_all_json_output(bin_dir: Path) -> None:
    result = run_cli(bin_dir, "probe", "--all")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    statuses = {r["backend_id"]: r["status"] for r in document["reports"]}
    assert statuses == {
        "podman-rootless": "supported",
        "docker-desktop": "supported",
        "nerdctl-containerd": "unsupported",
    }
    assert document["counts"]["supported"] == 2


def test_probe_backend_by_tool_and_id(bin_dir: Path) -> None:
    result = run_cli(
        bin_dir, "probe", "--backend", "podman", "--backend", "docker-desktop"
    )
    assert result.returncode == 0, result.stderr
    ids = [r["backend_id"] for r in json.loads(result.stdout)["reports"]]
    assert ids == ["podman-rootless", "docker-desktop"]


def test_probe_table_format(bin_dir: Path) -> None:
    result = run_cli(bin_dir, "probe", "--all", "--format", "table")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["BACKEND", "STATUS", "VERSION", "DETAIL"]
    assert lines[1].split()[:3] == ["podman-rootless", "supported", "5.0.0"]
    assert "nerdctl-containerd:" in lines
    assert "  hint: install nerdctl or put it on PATH" in lines


def test_probe_exit_zero_when_nothing_supported(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "probe", "--backend", "nerdctl")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)["reports"][0]
    assert report["status"] == "unsupported"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["probe"], "one of the arguments --all --backend is required"),
        (["probe", "--backend", "lxc"], "invalid backend 'lxc': expected one of"),
        (["probe", "--all", "--step-timeout", "0"], "invalid seconds '0'"),
        (["probe", "--all", "--step-timeout", "soon"], "invalid seconds 'soon'"),
        (["probe", "--all", "--image", "--privileged"], "expected one argument"),
        (["probe", "--all", "--image=-privileged"], "invalid image '-privileged'"),
        (["probe", "--all", "--format", "yaml"], "invalid choice: 'yaml'"),
        (["probe", "--all", "--catalog", "x.json"], "--catalog and --install-root"),
        (
            ["probe", "--all", "--catalog", "", "--install-root", "/tmp/x"],
            "invalid path '': expected a non-empty path",
        ),
    ],
    ids=[
        "no-selection",
        "unknown-backend",
        "zero-timeout",
        "word-timeout",
        "image-as-flag",
        "dash-image",
        "bad-format",
        "catalog-alone",
        "empty-catalog",
    ],
)
def test_probe_usage_errors_exit_2(
    bin_dir: Path, args: list[str], message: str
) -> None:
    result = run_cli(bin_dir, *args)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_probe_path_imports_no_download_stack(bin_dir: Path) -> None:
    """The probe command never imports aiohttp or an OpenPGP library."""
    code = (
        "import sys; from wfc_container._cli import main;"
        " main(['probe', '--backend', 'podman']);"
        " heavy = [m for m in ('aiohttp', 'pysequoia', 'pgpy') if m in sys.modules];"
        " print('HEAVY', heavy, file=sys.stderr)"
    )
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir.parent)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert "HEAVY []" in result.stderr, result.stderr


def test_probe_output_write_failure_is_an_error(bin_dir: Path) -> None:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir.parent)}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "wfc_container", "probe", "--all"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr == "error: [Errno 28] No space left on device\n"
