from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING

import pytest

from wfc_container.sandbox import (
    ArtifactError,
    SandboxRequestError,
    UnsafePathError,
    hash_artifacts,
)

if TYPE_CHECKING:
    from pathlib import Path

VECTOR = "sha256:21684a9d18657e25c54bf747ec00c289c29a19eee00fd2db6e1f3ee5ddb40565"


def expected(*files: tuple[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, content in files:
        digest.update(name.encode() + b"\0" + content + b"\0")
    return "sha256:" + digest.hexdigest()


def test_hash_vector(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text("artifact")
    assert hash_artifacts(str(tmp_path), ["out.txt"]) == VECTOR


def test_hash_directory_walk_order(tmp_path: Path) -> None:
    (tmp_path / "d" / "x").mkdir(parents=True)
    (tmp_path / "d" / "x" / "y").write_bytes(b"1")
    (tmp_path / "d" / "x.txt").write_bytes(b"2")
    (tmp_path / "d" / "empty").mkdir()
    assert hash_artifacts(str(tmp_path), ["d"]) == expected(
        ("d/x/y", b"1"), ("d/x.txt", b"2")
    )


def test_hash_duplicates_once(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text("artifact")
    assert hash_artifacts(str(tmp_path), ["out.txt", "out.txt", "./out.txt"]) == VECTOR


def test_hash_overlap_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"a")
    assert hash_artifacts(str(tmp_path), ["d/a", "d"]) == expected(("d/a", b"a"))


def test_hash_empty_entry_is_base(tmp_path: Path) -> None:
    (tmp_path / "out.txt").write_text("artifact")
    assert hash_artifacts(str(tmp_path), [""]) == VECTOR


def test_hash_no_base() -> None:
    with pytest.raises(SandboxRequestError) as caught:
        hash_artifacts("", ["out.txt"])
    assert str(caught.value) == (
        "invalid workspace '': expected a directory for the allowlist"
    )


def test_hash_missing(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError) as caught:
        hash_artifacts(str(tmp_path), ["gone.txt"])
    assert str(caught.value) == "artifact 'gone.txt' does not exist"


def test_hash_symlink_entry(tmp_path: Path) -> None:
    (tmp_path / "real").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePathError) as caught:
        hash_artifacts(str(tmp_path), ["link"])
    assert caught.value.path == str(tmp_path / "link")
    assert caught.value.problem == "is a symlink"


def test_hash_symlink_inside_directory(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "link").symlink_to("/etc/hostname")
    with pytest.raises(ArtifactError) as caught:
        hash_artifacts(str(tmp_path), ["d"])
    assert caught.value.path == "d/link"


def test_hash_symlink_component(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "out.txt").write_text("artifact")
    base = tmp_path / "ws"
    base.mkdir()
    (base / "link").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="is a symlink"):
        hash_artifacts(str(base), ["link/out.txt"])


def test_hash_not_regular(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ArtifactError) as caught:
        hash_artifacts(str(tmp_path), ["pipe"])
    assert str(caught.value) == "artifact 'pipe' is not a regular file"


@pytest.mark.parametrize(
    ("entry", "problem"), [("/etc/passwd", "must be relative"), ("../x", "escapes")]
)
def test_hash_entry_outside(tmp_path: Path, entry: str, problem: str) -> None:
    with pytest.raises(UnsafePathError, match=problem):
        hash_artifacts(str(tmp_path), [entry])
