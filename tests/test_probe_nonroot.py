"""FC-06: nerdctl run by a non-root user while the rootful socket is open to it."""

from __future__ import annotations

import functools
import json
import os
import shutil
import socket
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import anyio
import anyio._backends._asyncio
import pytest

from fakes import write_fake
from runtime_fakes import NERDCTL_JSON
from wfc_container.probes import NERDCTL, ProbeOutcome, probe_backend

NOBODY = 65534
ROOTLESS_FATAL = (
    "FATA[0000] rootless containerd not running? (hint: use"
    " containerd-rootless-setuptool.sh install to start rootless containerd):"
    " stat /run/user/65534/containerd-rootless: no such file or directory"
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root to drop to nobody"
)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory the unprivileged child can read (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="wfc-nonroot-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def probe_as_nobody(env: dict[str, str]) -> dict[str, object]:
    """Fork, drop to nobody, probe nerdctl, and return the reason and hint."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() with threads; the child only probes.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            run = functools.partial(probe_backend, NERDCTL, environ=env)
            outcome: ProbeOutcome = anyio.run(run)
            payload = {
                "status": str(outcome.report.status),
                "reason": outcome.report.reason,
                "hint": outcome.diagnostics.hint,
            }
            os.write(write_end, json.dumps(payload).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return dict(json.loads(data))


def test_nerdctl_needs_root_with_reachable_socket(shared_dir: Path) -> None:
    script = f"""
case "$*" in
  *version*) printf '%s\\n' '{json.dumps({"Client": NERDCTL_JSON["Client"]})}'
     echo 'WARN[0000] failed to inspect the rootless containerd socket address' >&2
     exit 0;;
  *) echo '{ROOTLESS_FATAL}' >&2; exit 1;;
esac
"""
    bin_dir = shared_dir / "bin"
    write_fake(bin_dir, "nerdctl", script)
    bin_dir.chmod(0o755)
    address = shared_dir / "containerd.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with listener:
        listener.bind(str(address))
        listener.listen(4)
        os.chown(address, 0, NOBODY)
        address.chmod(0o660)
        result = probe_as_nobody(
            {
                "PATH": f"{bin_dir}:/usr/bin:/bin",
                "HOME": str(shared_dir),
                "CONTAINERD_ADDRESS": f"unix://{address}",
            }
        )
    assert result["status"] == "degraded"
    assert result["reason"] == (
        "version step: rootless containerd not running: nerdctl needs root or"
        " rootless containerd; the rootful socket is reachable"
    )
    assert "start the" not in str(result["hint"])
