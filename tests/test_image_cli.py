"""Tests of ``python -m wfc_container image`` argument checks, as a real subprocess."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import anyio
import pytest

from fakes import write_fake

if TYPE_CHECKING:
    from pathlib import Path

# A fake podman that only records that it was called.
FAKE_PODMAN = """
printf '%s\n' "$*" >> "$(dirname "$0")/calls"
exit 0
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def run_image(tmp_path: Path, *args: str) -> tuple[int, str]:
    write_fake(tmp_path / "bin", "podman", FAKE_PODMAN)
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:/usr/bin:/bin")
    done = await anyio.run_process(
        [sys.executable, "-m", "wfc_container", "image", *args],
        check=False,
        cwd=tmp_path,
        env=env,
    )
    assert done.stdout == b""
    return done.returncode, done.stderr.decode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "expected a file path"),
        (".", "expected a file path, not a directory"),
        ("out/", "expected a file path, not a directory"),
        ("bin", "expected a file path, not a directory"),
    ],
)
async def test_cli_build_bad_output(tmp_path: Path, value: str, expected: str) -> None:
    code, stderr = await run_image(tmp_path, "build", "--output", value)

    assert code == 2
    assert stderr.startswith("error: ")
    assert f"invalid archive path {value!r}: {expected}\n" in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
async def test_cli_build_bad_timeout(tmp_path: Path, value: str) -> None:
    output = tmp_path / "image.tar"

    code, stderr = await run_image(
        tmp_path, "build", "--output", str(output), "--timeout", value
    )

    assert code == 2
    assert f"invalid seconds {value!r}: expected a positive number" in stderr
    assert "timed out" not in stderr
    assert not output.exists()


async def test_cli_load_bad_timeout(tmp_path: Path) -> None:
    archive = tmp_path / "image.tar"
    archive.write_bytes(b"archive")

    code, stderr = await run_image(
        tmp_path,
        "load",
        "--backend",
        "podman",
        "--archive",
        str(archive),
        "--timeout",
        "-1",
    )

    assert code == 2
    assert "invalid seconds '-1': expected a positive number" in stderr
    assert not (tmp_path / "bin" / "calls").exists()


async def test_cli_load_empty_archive(tmp_path: Path) -> None:
    code, stderr = await run_image(
        tmp_path, "load", "--backend", "podman", "--archive", ""
    )

    assert code == 2
    assert "invalid archive path '': expected a file path" in stderr
    assert not (tmp_path / "bin" / "calls").exists()
