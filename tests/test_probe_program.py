"""Tests of the probe program's own SHA-256 against hashlib."""

from __future__ import annotations

import hashlib
import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from real_fixtures import require_compiler
from wfc_container.image._build import find_probe_source

if TYPE_CHECKING:
    from pathlib import Path

# Sizes around the 55/56 and 64 byte padding boundaries, plus multi-block input.
VECTORS = [
    b"",
    b"abc",
    b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    b"a" * 55,
    b"a" * 56,
    b"a" * 63,
    b"a" * 64,
    b"a" * 65,
    b"a" * 119,
    b"a" * 120,
    b"0123456789abcdef" * 4,
    bytes(range(256)) * 40,
]


@pytest.fixture(scope="module")
def sha256_tool(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compile the program's test build, which hashes stdin."""
    require_compiler()
    target = tmp_path_factory.mktemp("sha") / "sha256"
    subprocess.run(
        [
            "gcc",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-DWFCOMPUTE_PROBE_SHA256_MAIN",
            "-o",
            str(target),
            str(find_probe_source()),
        ],
        check=True,
    )
    return target


@pytest.mark.parametrize("data", VECTORS, ids=lambda data: f"{len(data)}-bytes")
def test_sha256_matches_hashlib(sha256_tool: Path, data: bytes) -> None:
    result = subprocess.run(
        [str(sha256_tool)], input=data, capture_output=True, check=True
    )

    assert result.stdout.decode().strip() == hashlib.sha256(data).hexdigest()


def test_sha256_random_megabyte(sha256_tool: Path) -> None:
    data = os.urandom(1 << 20)

    result = subprocess.run(
        [str(sha256_tool)], input=data, capture_output=True, check=True
    )

    assert result.stdout.decode().strip() == hashlib.sha256(data).hexdigest()


def test_program_compiles_without_warnings(tmp_path: Path) -> None:
    require_compiler()

    result = subprocess.run(
        [
            "gcc",
            "-static",
            "-Os",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-o",
            str(tmp_path / "probe"),
            str(find_probe_source()),
        ],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
