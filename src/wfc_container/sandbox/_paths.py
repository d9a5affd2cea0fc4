"""Path rules for workspaces: stay inside the root and never pass a symlink."""

from __future__ import annotations

import os
import stat

from ._errors import UnsafePathError


def resolve_inside(base: str, value: str) -> str:
    """
    Join the relative path ``value`` to ``base`` and make sure it stays inside.

    An empty ``value`` means ``base`` itself. The check is lexical; call
    `reject_symlink_components` to rule out symlinks on the way.

    :raises UnsafePathError: when ``value`` is absolute or leaves ``base``.
    """
    if value == "":
        return base

    if os.path.isabs(value):
        raise UnsafePathError(path=value, problem="must be relative")

    joined = os.path.normpath(os.path.join(base, value))
    relative = os.path.relpath(joined, base)
    if relative == ".." or relative.startswith("../"):
        raise UnsafePathError(path=value, problem="escapes the workspace")

    return joined


def reject_symlink_components(root: str, target: str) -> None:
    """
    Check that no existing path component from ``root`` to ``target`` is a symlink.

    Components that do not exist yet end the walk, because nothing can be
    followed through them.

    :raises UnsafePathError: when a component is a symlink or ``target`` is
        outside ``root``.
    :raises OSError: when ``root`` cannot be examined.
    """
    root = os.path.normpath(root)
    target = os.path.normpath(target)
    if stat.S_ISLNK(os.lstat(root).st_mode):
        raise UnsafePathError(path=root, problem="is a symlink")

    if target == root:
        return

    relative = os.path.relpath(target, root)
    if relative == ".." or relative.startswith("../") or os.path.isabs(relative):
        raise UnsafePathError(path=target, problem="escapes the workspace")

    current = root
    for part in relative.split(os.sep):
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise UnsafePathError(path=current, problem="is a symlink")
