from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from wfc_container.sandbox import UnsafePathError
from wfc_container.sandbox._paths import reject_symlink_components, resolve_inside

if TYPE_CHECKING:
    from pathlib import Path


def test_resolve_inside_empty_is_base() -> None:
    assert resolve_inside("/ws", "") == "/ws"


def test_resolve_inside_cleans() -> None:
    assert resolve_inside("/ws", "a/./b/../c") == "/ws/a/c"


def test_resolve_inside_absolute() -> None:
    with pytest.raises(UnsafePathError) as caught:
        resolve_inside("/ws", "/etc/passwd")
    assert str(caught.value) == "path '/etc/passwd' must be relative"


@pytest.mark.parametrize("value", ["..", "../x", "a/../../x"])
def test_resolve_inside_escape(value: str) -> None:
    with pytest.raises(UnsafePathError) as caught:
        resolve_inside("/ws", value)
    assert str(caught.value) == f"path {value!r} escapes the workspace"


def test_resolve_inside_dotdot_name_allowed() -> None:
    assert resolve_inside("/ws", "..data") == "/ws/..data"


def test_symlink_root(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(UnsafePathError) as caught:
        reject_symlink_components(str(tmp_path / "link"), str(tmp_path / "link"))
    assert caught.value.problem == "is a symlink"


def test_symlink_component(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "ws"
    root.mkdir()
    (root / "link").symlink_to(outside)
    target = str(root / "link" / "out.txt")
    with pytest.raises(UnsafePathError) as caught:
        reject_symlink_components(str(root), target)
    assert str(caught.value) == f"path {str(root / 'link')!r} is a symlink"


def test_symlink_missing_component_passes(tmp_path: Path) -> None:
    reject_symlink_components(str(tmp_path), str(tmp_path / "not" / "yet"))


def test_symlink_target_outside(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="escapes the workspace"):
        reject_symlink_components(str(tmp_path), os.path.dirname(tmp_path))


def test_symlink_missing_root(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        reject_symlink_components(str(tmp_path / "gone"), str(tmp_path / "gone" / "x"))
