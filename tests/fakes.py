"""Fake runtime CLIs for tests: small executable shell scripts put first on PATH."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


def write_fake(dir: Path, name: str, script: str) -> Path:  # noqa: A002
    """
    Write ``script`` as the executable ``/bin/sh`` script ``dir/name``.

    ``dir`` is created when missing. The ``#!/bin/sh`` line is added here, so
    ``script`` holds only the commands.
    """
    dir.mkdir(parents=True, exist_ok=True)
    path = dir / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)
    return path
