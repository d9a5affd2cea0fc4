"""Tests of the probe image build: reproducible archive, layout, compiler errors."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import TYPE_CHECKING

import pytest

from fakes import write_fake
from real_fixtures import require_compiler
from wfc_container import ImageError
from wfc_container._cli import main
from wfc_container.image import (
    PROBE_IMAGE_REFERENCE,
    CompileError,
    CompilerNotFoundError,
    ImageStepTimeoutError,
    ImageWriteError,
    StaticLibcMissingError,
    build_probe_image,
)

if TYPE_CHECKING:
    from pathlib import Path


def _members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {member.name: member for member in tar.getmembers()}


def _read(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        extracted = tar.extractfile(name)
        assert extracted is not None
        return extracted.read()


def _blob(archive: bytes, digest: str) -> bytes:
    data = _read(archive, "blobs/sha256/" + digest.removeprefix("sha256:"))
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


async def test_build_same_bytes(tmp_path: Path) -> None:
    require_compiler()
    first = await build_probe_image(tmp_path / "first.tar")
    second = await build_probe_image(tmp_path / "second.tar")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.digest == second.digest
    assert first.reference == PROBE_IMAGE_REFERENCE


async def test_build_archive_layout(tmp_path: Path) -> None:
    require_compiler()
    result = await build_probe_image(tmp_path / "image.tar")
    archive = result.path.read_bytes()
    members = _members(archive)

    assert list(members)[:5] == [
        "blobs",
        "blobs/sha256",
        "oci-layout",
        "index.json",
        "manifest.json",
    ]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members.values()} == {
        (0, 0, 0, "", "")
    }
    index = json.loads(_read(archive, "index.json"))
    descriptor = index["manifests"][0]
    assert descriptor["digest"] == result.digest
    assert descriptor["annotations"]["io.containerd.image.name"] == (
        PROBE_IMAGE_REFERENCE
    )
    manifest = json.loads(_blob(archive, result.digest))
    assert manifest["config"]["digest"] == result.image_id
    config = json.loads(_blob(archive, result.image_id))
    layer_digest = manifest["layers"][0]["digest"]
    assert config["rootfs"]["diff_ids"] == [layer_digest]
    docker = json.loads(_read(archive, "manifest.json"))
    assert docker[0]["RepoTags"] == [PROBE_IMAGE_REFERENCE]
    assert docker[0]["Config"] == "blobs/sha256/" + result.image_id[7:]


async def test_build_layer_program(tmp_path: Path) -> None:
    require_compiler()
    result = await build_probe_image(tmp_path / "image.tar")
    archive = result.path.read_bytes()
    manifest = json.loads(_blob(archive, result.digest))
    layer = _blob(archive, manifest["layers"][0]["digest"])
    members = _members(layer)

    program = members["usr/local/bin/wfcompute-sandbox-probe"]
    assert program.mode == 0o755
    assert program.isfile()
    assert members["tmp"].mode == 0o1777
    assert list(members) == sorted(members)
    with tarfile.open(fileobj=io.BytesIO(layer)) as tar:
        extracted = tar.extractfile(program)
        assert extracted is not None
        assert extracted.read(4) == b"\x7fELF"


async def test_build_missing_compiler(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    output = tmp_path / "image.tar"

    with pytest.raises(CompilerNotFoundError, match="'gcc' not found on PATH") as info:
        await build_probe_image(output)

    assert info.value.compiler == "gcc"
    assert info.value.hint is not None
    assert "libc6-dev" in info.value.hint
    assert isinstance(info.value, ImageError)
    assert not output.exists()


async def test_build_missing_static_libc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = "/usr/bin/ld: cannot find -lc: No such file or directory"
    write_fake(tmp_path / "bin", "gcc", f"echo '{message}' >&2\nexit 1")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    with pytest.raises(StaticLibcMissingError, match="static C library") as info:
        await build_probe_image(tmp_path / "image.tar")

    assert info.value.output == message
    assert info.value.hint is not None
    assert "libc6-dev" in info.value.hint


async def test_build_compile_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake(tmp_path / "bin", "gcc", "echo 'probe.c:1: error: boom' >&2\nexit 4")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    with pytest.raises(CompileError, match="expected exit code 0, got 4") as info:
        await build_probe_image(tmp_path / "image.tar")

    assert info.value.exit_code == 4
    assert info.value.output == "probe.c:1: error: boom"


async def test_build_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_fake(tmp_path / "bin", "gcc", "exec sleep 30")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")

    with pytest.raises(ImageStepTimeoutError, match="image build timed out") as info:
        await build_probe_image(tmp_path / "image.tar", timeout=0.5)

    assert info.value.timeout == 0.5
    assert isinstance(info.value, TimeoutError)


async def test_build_unwritable_output(tmp_path: Path) -> None:
    require_compiler()
    output = tmp_path / "missing-dir" / "image.tar"

    with pytest.raises(ImageWriteError, match="cannot write image archive") as info:
        await build_probe_image(output)

    assert info.value.path == str(output)
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_cli_build_prints_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_compiler()
    output = tmp_path / "image.tar"

    code = main(["image", "build", "--output", str(output)])

    printed = capsys.readouterr().out.strip()
    assert code == 0
    assert printed.startswith("sha256:")
    index = json.loads(_read(output.read_bytes(), "index.json"))
    assert index["manifests"][0]["digest"] == printed


def test_cli_build_missing_compiler(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    code = main(["image", "build", "--output", str(tmp_path / "image.tar")])

    stderr = capsys.readouterr().err
    assert code == 1
    assert "error: C compiler 'gcc' not found on PATH" in stderr
    assert "hint: install a C compiler" in stderr
