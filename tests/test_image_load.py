"""Tests of ``image load`` with fake runtime commands on PATH."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from fakes import write_fake
from wfc_container._cli import main
from wfc_container.image import (
    PROBE_IMAGE_REFERENCE,
    ImageLoadError,
    ImageOptionError,
    RuntimeToolNotFoundError,
    load_probe_image,
)

if TYPE_CHECKING:
    from pathlib import Path

# A fake runtime that logs its arguments and exits with $INSPECT on image inspect.
FAKE_PODMAN = """
printf '%s\n' "$*" >> "$(dirname "$0")/calls"
case "$1" in
  load) exit 0 ;;
  image) exit "${INSPECT:-0}" ;;
esac
exit 3
"""


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    path = tmp_path / "image.tar"
    path.write_bytes(b"not inspected by the fakes")
    return path


async def test_load_podman_calls(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake(tmp_path / "bin", "podman", FAKE_PODMAN)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")

    reference = await load_probe_image("podman", archive=archive)

    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert reference == PROBE_IMAGE_REFERENCE
    assert calls == [
        f"load -i {archive}",
        f"image inspect --format {{{{.Id}}}} {PROBE_IMAGE_REFERENCE}",
    ]


async def test_load_containerd_namespace(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = (
        'printf "%s\\n" "$*" >> "$(dirname "$0")/calls"\n'
        f'case "$4" in ls) echo {PROBE_IMAGE_REFERENCE} ;; esac'
    )
    write_fake(tmp_path / "bin", "ctr", script)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")

    await load_probe_image("containerd", archive=archive, namespace="wfc-test")

    calls = (tmp_path / "bin" / "calls").read_text().splitlines()
    assert calls == [f"-n wfc-test images import {archive}", "-n wfc-test images ls -q"]


async def test_load_rejected_archive(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake(tmp_path / "bin", "docker", "echo 'Error: unexpected EOF' >&2\nexit 125")
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")

    with pytest.raises(ImageLoadError, match="exited with 125") as info:
        await load_probe_image("docker", archive=archive)

    assert info.value.backend == "docker"
    assert info.value.problem.endswith("Error: unexpected EOF")


async def test_load_absent_after_load(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake(tmp_path / "bin", "podman", FAKE_PODMAN)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")
    monkeypatch.setenv("INSPECT", "1")

    with pytest.raises(ImageLoadError, match="not in the image store"):
        await load_probe_image("podman", archive=archive)


async def test_load_missing_tool(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))

    with pytest.raises(RuntimeToolNotFoundError, match="'ctr' not found") as info:
        await load_probe_image("containerd", archive=archive)

    assert info.value.backend == "containerd"


@pytest.mark.parametrize(
    ("backend", "namespace", "field"),
    [
        ("lxc", "default", "backend"),
        ("podman", "other", "namespace"),
        ("containerd", "bad/name", "namespace"),
        ("containerd", "a..b", "namespace"),
        ("containerd", "x" * 77, "namespace"),
    ],
)
async def test_load_invalid_option(
    archive: Path, backend: str, namespace: str, field: str
) -> None:
    with pytest.raises(ImageOptionError, match=f"invalid {field}") as info:
        await load_probe_image(backend, archive=archive, namespace=namespace)

    assert info.value.field == field


def test_cli_load_unknown_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["image", "load", "--backend", "lxc"])

    assert code == 2
    assert "invalid choice: 'lxc'" in capsys.readouterr().err


def test_cli_load_prints_reference(
    tmp_path: Path,
    archive: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_fake(tmp_path / "bin", "podman", FAKE_PODMAN)
    monkeypatch.setenv("PATH", str(tmp_path / "bin") + ":/usr/bin:/bin")

    code = main(["image", "load", "--backend", "podman", "--archive", str(archive)])

    assert code == 0
    assert capsys.readouterr().out == PROBE_IMAGE_REFERENCE + "\n"
