"""Tests of streaming tar.gz extraction: real-world shapes and hostile members."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
import threading
from typing import TYPE_CHECKING

import anyio
import pytest

from wfc_container.bundles._errors import ArchiveReadError, UnsafeArchiveError
from wfc_container.bundles._extract import (
    ExtractionCancelled,
    ExtractLimits,
    TreeRecord,
    check_symlink_target,
    extract_tar_gz,
    run_cancellable_thread,
    symlink_digest,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

Member = tuple[str, str, object]  # (name, kind, payload)


def build_archive(members: Sequence[Member], *, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """Write members as a real tar.gz; each kind is one tar member type."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=fmt) as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o755
            data = None
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "file":
                data = payload if isinstance(payload, bytes) else b"x"
                info.size = len(data)
            elif kind == "mode":
                assert isinstance(payload, tuple)
                info.mode, data = payload
                info.size = len(data)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = str(payload)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = str(payload)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            elif kind == "chr":
                info.type = tarfile.CHRTYPE
            tar.addfile(info, None if data is None else io.BytesIO(data))
    return buffer.getvalue()


def extract(
    data: bytes,
    dest: Path,
    *,
    limits: ExtractLimits | None = None,
    cancel: threading.Event | None = None,
) -> TreeRecord:
    dest.mkdir(exist_ok=True)
    source = io.BytesIO(data)
    return extract_tar_gz(
        source,
        dest,
        archive="test.tar.gz",
        limits=limits or ExtractLimits(),
        cancel=cancel,
    )


NERDCTL_FULL = [
    ("bin/", "dir", None),
    ("bin/nerdctl", "file", b"#!/bin/sh\necho nerdctl version 2.3.1\n"),
    ("bin/buildkit-cni-bridge", "symlink", "../libexec/cni/bridge"),
    ("bin/buildkit-cni-LICENSE", "symlink", "../libexec/cni/LICENSE"),
    ("libexec/", "dir", None),
    ("libexec/cni/", "dir", None),
    ("libexec/cni/bridge", "file", b"bridge"),
    ("libexec/cni/LICENSE", "mode", (0o644, b"license")),
]


def test_extract_nerdctl_full_shape(tmp_path: Path) -> None:
    record = extract(build_archive(NERDCTL_FULL), tmp_path / "out")

    out = tmp_path / "out"
    nerdctl = b"#!/bin/sh\necho nerdctl version 2.3.1\n"
    assert os.readlink(out / "bin/buildkit-cni-bridge") == "../libexec/cni/bridge"
    assert (out / "bin/buildkit-cni-bridge").read_bytes() == b"bridge"
    assert record.file_digests["bin/nerdctl"] == (
        "sha256:" + hashlib.sha256(nerdctl).hexdigest()
    )
    assert record.symlinks == {
        "bin/buildkit-cni-LICENSE": "../libexec/cni/LICENSE",
        "bin/buildkit-cni-bridge": "../libexec/cni/bridge",
    }
    assert record.file_modes["libexec/cni/LICENSE"] == 0o644
    assert stat.S_IMODE((out / "libexec/cni/LICENSE").stat().st_mode) == 0o644


def test_extract_dot_prefixed_names(tmp_path: Path) -> None:
    members = [
        ("./", "dir", None),
        ("./bin/", "dir", None),
        ("./bin/nerdctl", "file", b"n"),
        ("./bin/buildkit-cni-bridge", "symlink", "../libexec/cni/bridge"),
        ("./libexec/cni/bridge", "file", b"b"),
    ]
    record = extract(build_archive(members), tmp_path / "out")

    assert sorted(record.file_digests) == [
        "bin/buildkit-cni-bridge",
        "bin/nerdctl",
        "libexec/cni/bridge",
    ]


def test_extract_pax_headers(tmp_path: Path) -> None:
    long_name = "share/doc/" + "d" * 120 + "/README.md"
    members = [("bin/nerdctl", "file", b"n"), (long_name, "file", b"readme")]
    record = extract(build_archive(members, fmt=tarfile.PAX_FORMAT), tmp_path / "out")

    assert long_name in record.file_digests


def test_extract_drops_special_bits(tmp_path: Path) -> None:
    members = [("bin/tool", "mode", (0o6755, b"t")), ("tmp/", "dir", None)]
    record = extract(build_archive(members), tmp_path / "out")

    mode = stat.S_IMODE((tmp_path / "out/bin/tool").stat().st_mode)
    assert mode == 0o755
    assert record.file_modes["bin/tool"] == 0o755


def test_extract_hardlink_to_earlier_file(tmp_path: Path) -> None:
    members = [("bin/a", "file", b"same"), ("bin/b", "hardlink", "bin/a")]
    record = extract(build_archive(members), tmp_path / "out")

    digests = record.file_digests
    assert digests["bin/b"] == digests["bin/a"]
    assert (tmp_path / "out/bin/b").read_bytes() == b"same"


def test_symlink_check_fc27_shape() -> None:
    """The engine's own link check accepts nerdctl-full's in-root '..' links."""
    resolved = check_symlink_target("bin/buildkit-cni-bridge", "../libexec/cni/bridge")

    assert resolved == "libexec/cni/bridge"


@pytest.mark.parametrize(
    ("link", "target"),
    [("var/run", "/run"), ("bin/x", "../../etc/passwd"), ("bin/x", ".."), ("x", "")],
)
def test_symlink_check_rejects(link: str, target: str) -> None:
    with pytest.raises(ValueError, match="target"):
        check_symlink_target(link, target)


HOSTILE: dict[str, list[Member]] = {
    "absolute": [("/etc/passwd", "file", b"x")],
    "dotdot": [("../escape", "file", b"x"), ("bin/nerdctl", "file", b"n")],
    "inner-dotdot": [("bin/../../escape", "file", b"x")],
    "backslash": [("bin\\..\\x", "file", b"x")],
    "absolute-symlink": [("var/run", "symlink", "/run")],
    "escaping-symlink": [("bin/x", "symlink", "../../etc/passwd")],
    "under-symlink": [
        ("bin/link", "symlink", "../libexec"),
        ("bin/link/f", "file", b""),
    ],
    "duplicate": [("bin/nerdctl", "file", b"a"), ("bin/nerdctl", "file", b"b")],
    "duplicate-dir-file": [("bin/", "dir", None), ("bin", "file", b"b")],
    "hardlink-escape": [("x", "hardlink", "../victim"), ("x", "file", b"data")],
    "hardlink-inner-escape": [("x", "hardlink", "libexec/cni/../../../outside")],
    "hardlink-dir": [("libexec/", "dir", None), ("x", "hardlink", "libexec/")],
    "hardlink-later": [("x", "hardlink", "y"), ("y", "file", b"y")],
    "fifo": [("bin/pipe", "fifo", None)],
    "device": [("dev/null", "chr", None)],
    "root-not-dir": [("./", "file", b"x")],
    "chained-escape": [
        ("c", "file", b"c"),
        ("a/b/s", "symlink", "../../c"),
        ("a/b/t", "symlink", "s/../.."),
    ],
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_extract_rejects_hostile(case: str, tmp_path: Path) -> None:
    out = tmp_path / "root" / "out"
    out.parent.mkdir()

    with pytest.raises(UnsafeArchiveError) as info:
        extract(build_archive(HOSTILE[case]), out)

    assert info.value.archive == "test.tar.gz"
    assert info.value.member in {name for name, _, _ in HOSTILE[case]}
    assert sorted(os.listdir(tmp_path / "root")) == ["out"]
    assert not (tmp_path / "escape").exists()
    assert not (tmp_path / "victim").exists()


def test_extract_member_limit(tmp_path: Path) -> None:
    members: list[Member] = [(f"f{i}", "file", b"") for i in range(5)]

    with pytest.raises(UnsafeArchiveError, match="more than 4 members"):
        extract(
            build_archive(members), tmp_path / "o", limits=ExtractLimits(max_members=4)
        )


def test_extract_size_limit(tmp_path: Path) -> None:
    members: list[Member] = [("a", "file", b"x" * 600), ("b", "file", b"y" * 600)]

    with pytest.raises(UnsafeArchiveError, match="exceeds 1000 bytes") as info:
        extract(
            build_archive(members),
            tmp_path / "o",
            limits=ExtractLimits(max_total_size=1000),
        )

    assert info.value.member == "b"
    assert not (tmp_path / "o/b").exists()


@pytest.mark.parametrize("cut", [0.5, 0.9, -4, -1])
def test_extract_truncated_gzip(cut: float, tmp_path: Path) -> None:
    data = build_archive(NERDCTL_FULL)
    end = int(len(data) * cut) if cut > 0 else len(data) + int(cut)

    with pytest.raises(ArchiveReadError) as info:
        extract(data[:end], tmp_path / "o")

    assert info.value.__cause__ is not None


def test_extract_cancel_event(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()

    with pytest.raises(ExtractionCancelled):
        extract(build_archive(NERDCTL_FULL), tmp_path / "o", cancel=cancel)


async def test_cancellable_thread_stops_work() -> None:
    started = threading.Event()
    seen: list[bool] = []

    def work(cancel: threading.Event) -> None:
        started.set()
        seen.append(cancel.wait(30))

    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(run_cancellable_thread, work)
            await anyio.to_thread.run_sync(started.wait)
            group.cancel_scope.cancel()

    assert not scope.cancelled_caught
    assert seen == [True]


def test_symlink_digest_go_vector() -> None:
    expected = "sha256:769bddcd37521ae1fa6cfc5dfa92c86d42aeac85bfcd96716330b53b65dbe18e"

    assert symlink_digest("nerdctl") == expected


def test_extract_multi_member_gzip(tmp_path: Path) -> None:
    """A tar stream split over two concatenated gzip members is one archive."""
    data = gzip.decompress(build_archive(NERDCTL_FULL))
    half = len(data) // 2
    joined = gzip.compress(data[:half]) + gzip.compress(data[half:])

    record = extract(joined, tmp_path / "out")

    assert "libexec/cni/bridge" in record.file_digests


def test_extract_trailing_garbage(tmp_path: Path) -> None:
    with pytest.raises(ArchiveReadError):
        extract(build_archive(NERDCTL_FULL) + b"\x00garbage", tmp_path / "out")


def test_extract_bad_crc(tmp_path: Path) -> None:
    data = bytearray(build_archive(NERDCTL_FULL))
    data[-8] ^= 0xFF  # first byte of the CRC-32 trailer

    with pytest.raises(ArchiveReadError):
        extract(bytes(data), tmp_path / "out")
