"""Tests of the nerdctl test double that need no running containerd."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from real_fixtures import NERDCTL_DOUBLE

if TYPE_CHECKING:
    from pathlib import Path


def _run(
    args: list[str], *, address: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if address is not None:
        env["CONTAINERD_ADDRESS"] = str(address)
    return subprocess.run(
        [str(NERDCTL_DOUBLE), *args], capture_output=True, text=True, env=env
    )


def test_double_short_version() -> None:
    result = _run(["--version"])

    assert result.returncode == 0
    assert result.stdout == "nerdctl version 0.0.0-ctr-test-double\n"


def test_double_version_without_containerd(tmp_path: Path) -> None:
    result = _run(["version", "--format", "{{json .}}"], address=tmp_path / "none")

    document = json.loads(result.stdout)
    assert result.returncode == 1
    assert document["Client"]["Version"] == "v0.0.0-ctr-test-double"
    assert document["Client"]["Components"][0]["Name"] == "ctr"
    assert "Server" not in document
    assert 'level=fatal msg="cannot access containerd' in result.stderr


def test_double_run_without_containerd(tmp_path: Path) -> None:
    result = _run(
        ["run", "--rm", "--network", "none", "localhost/x:1"],
        address=tmp_path / "none",
    )

    assert result.returncode == 1
    assert "cannot access containerd socket" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--rm", "--userns", "keep-id", "img"], "unknown flag: --userns"),
        (["run", "--rm", "--user", "1000:1000", "img"], "unsupported --user"),
        (["run", "--rm", "--network", "bridge", "img"], "unsupported --network"),
        (["run", "--rm", "--cap-drop", "NET_RAW", "img"], "unsupported --cap-drop"),
        (["run", "--network", "none", "img"], "only with --rm"),
        (["--debug", "version"], "unknown global flag '--debug'"),
        (["pull", "img"], "unknown command ['pull']"),
    ],
)
def test_double_rejects_unsupported(
    tmp_path: Path, args: list[str], message: str
) -> None:
    result = _run(args, address=tmp_path / "none")

    assert result.returncode == 1
    assert message in result.stderr
    assert "unsupported by the nerdctl test double" in result.stderr
