from __future__ import annotations

import os
import pwd
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from wfc_container.sandbox import WorkspacePermissionError
from wfc_container.sandbox._workspace import (
    loosen_workspace_modes,
    measure_workspace,
    restore_workspace_modes,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def make_tree(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "nested").mkdir(parents=True)
    (root / "nested" / "file").write_text("x")
    (root / "tool").write_text("#!/bin/sh\n")
    (root / "nested" / "file").chmod(0o600)
    (root / "tool").chmod(0o4700)
    (root / "nested").chmod(0o2700)
    root.chmod(0o700)
    return root


def test_loosen_and_restore(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    records = loosen_workspace_modes(str(root))
    assert mode(root) == 0o755
    assert mode(root / "nested") == 0o2755
    assert mode(root / "nested" / "file") == 0o644
    assert mode(root / "tool") == 0o4755
    restore_workspace_modes(str(root), records)
    assert mode(root) == 0o700
    assert mode(root / "nested") == 0o2700
    assert mode(root / "nested" / "file") == 0o600
    assert mode(root / "tool") == 0o4700


def test_loosen_never_follows_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("host file")
    outside.chmod(0o600)
    root = make_tree(tmp_path)
    (root / "link").symlink_to(outside)
    records = loosen_workspace_modes(str(root))
    assert mode(outside) == 0o600
    restore_workspace_modes(str(root), records)
    assert mode(outside) == 0o600


def test_restore_skips_swapped_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file").write_text("host file")
    outside.chmod(0o711)
    root = make_tree(tmp_path)
    records = loosen_workspace_modes(str(root))
    # The workload swaps a recorded directory for a symlink to a host path.
    os.rename(root / "nested", root / "moved")
    (root / "nested").symlink_to(outside)
    restore_workspace_modes(str(root), records)
    assert mode(outside) == 0o711
    assert mode(outside / "file") == 0o644
    assert mode(root) == 0o700


def test_restore_replaced_file_loses_setuid(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    records = loosen_workspace_modes(str(root))
    # The new file may get the old inode number back.
    (root / "tool").unlink()
    (root / "tool").write_text("new")
    (root / "tool").chmod(0o640)
    restore_workspace_modes(str(root), records)
    assert not mode(root / "tool") & (stat.S_ISUID | stat.S_ISGID)


def test_restore_written_file_loses_setuid(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    records = loosen_workspace_modes(str(root))
    with (root / "tool").open("a") as file:
        file.write("echo changed\n")
    restore_workspace_modes(str(root), records)
    assert mode(root / "tool") == 0o700


def test_loosen_rejects_symlink_root(tmp_path: Path) -> None:
    root = make_tree(tmp_path)
    (tmp_path / "link").symlink_to(root)
    with pytest.raises(WorkspacePermissionError) as caught:
        loosen_workspace_modes(str(tmp_path / "link"))
    assert caught.value.action == "loosen"
    assert mode(root) == 0o700


def test_restore_error_names_path(tmp_path: Path) -> None:
    error = WorkspacePermissionError(
        action="restore", paths=["/a", "/b", "/c", "/d"], reason="denied"
    )
    assert str(error) == (
        "cannot restore workspace modes of '/a', '/b', '/c' and 1 more: denied"
    )


def test_measure_workspace(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"12345")
    (tmp_path / "b").write_bytes(b"123")
    (tmp_path / "link").symlink_to("/etc")
    assert measure_workspace(str(tmp_path)) == 8 + len("/etc")


# Imports first, then drops to the owner given on the command line (if any):
# root ignores permission bits, and the interpreter may live where the owner
# cannot read it.
LOOSEN_SCRIPT = """
import os, sys
from wfc_container.sandbox._workspace import loosen_workspace_modes
from wfc_container.sandbox._workspace import restore_workspace_modes
root = sys.argv[1]
if len(sys.argv) > 2:
    os.setgroups([])
    os.setgid(int(sys.argv[3]))
    os.setuid(int(sys.argv[2]))
records = loosen_workspace_modes(root)
for name in ("d", "d/f"):
    print(oct(os.stat(os.path.join(root, name)).st_mode & 0o7777))
restore_workspace_modes(root, records)
"""


def test_loosen_unreadable_entries_as_owner(tmp_path: Path) -> None:
    """An owner without read permission still gets its modes loosened and restored."""
    if os.geteuid() == 0:
        # pytest's base directory is 0700, so the owner gets a directory it can reach.
        with tempfile.TemporaryDirectory() as directory:
            os.chmod(directory, 0o755)
            check_unreadable_entries(Path(directory), pwd.getpwnam("nobody"))
    else:
        check_unreadable_entries(tmp_path, None)


def check_unreadable_entries(parent: Path, owner: pwd.struct_passwd | None) -> None:
    root = parent / "ws"
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("x")
    (root / "d" / "f").chmod(0o000)
    (root / "d").chmod(0o300)
    command = [sys.executable, "-c", LOOSEN_SCRIPT, str(root)]
    if owner is not None:
        for path in (root, root / "d", root / "d" / "f"):
            os.lchown(path, owner.pw_uid, owner.pw_gid)
        command += [str(owner.pw_uid), str(owner.pw_gid)]
    output = subprocess.run(command, check=True, capture_output=True, text=True)
    assert output.stdout.split() == ["0o755", "0o644"]
    assert mode(root / "d") == 0o300
    assert mode(root / "d" / "f") == 0o000
