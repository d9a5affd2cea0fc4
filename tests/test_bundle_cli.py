"""
Tests of ``python -m wfc_container managed-runtime`` as a real subprocess.

The SIGKILL tests kill the installer while it downloads, extracts and
promotes. Each time the previous install must still pass doctor, no lock may
block the next run, and the next install must succeed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import anyio
import pytest

import bundle_fixtures
from bundle_fixtures import (
    SEED_BUNDLE_ID,
    Fault,
    GnuPG,
    GpgKey,
    ObjectServer,
    Release,
    catalog_document,
    make_release,
    nerdctl_full_members,
    write_archive,
    write_catalog,
)
from wfc_container.bundles._cli import _ProgressBar
from wfc_container.bundles._download import DownloadProgress
from wfc_container.bundles._layout import STAGING_DIR

MANIFEST = "wfcompute-managed-runtime-install.json"

# The shared GnuPG, release and mirror fixtures, made visible to this module.
gnupg = bundle_fixtures.gnupg
release_key = bundle_fixtures.release_key
release = bundle_fixtures.release
object_server = bundle_fixtures.object_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def argv(command: str, catalog: Path, root: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "wfc_container",
        "managed-runtime",
        command,
        "--catalog",
        str(catalog),
        "--install-root",
        str(root),
        "--bundle-id",
        SEED_BUNDLE_ID,
        "--target-os",
        "linux",
        "--target-arch",
        "amd64",
        *extra,
    ]


async def run_cli(args: list[str]) -> tuple[int, dict[str, object], str]:
    done = await anyio.run_process(args, check=False)
    stdout = done.stdout.decode()
    result = json.loads(stdout) if stdout.strip() else {}
    return done.returncode, result, done.stderr.decode()


def catalog_for(tmp_path: Path, release: Release, server: ObjectServer) -> Path:
    server.objects.update(release.objects())
    document = catalog_document(release, base_url=server.base_url)
    return write_catalog(tmp_path / "catalog.json", document)


async def test_cli_install_doctor_uninstall(
    tmp_path: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    root = tmp_path / "managed"

    code, installed, _ = await run_cli(argv("install", catalog, root))
    assert code == 0
    assert installed["command_path"] == str(root / SEED_BUNDLE_ID / "bin/nerdctl")

    code, doctor, _ = await run_cli(argv("doctor", catalog, root))
    assert code == 0
    assert doctor["status"] == "ok"

    code, removed, _ = await run_cli(argv("uninstall", catalog, root))
    assert code == 0
    assert removed["removed"] is True
    assert removed["scoped_only"] is True


async def test_cli_doctor_degraded_exits_zero(
    tmp_path: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    root = tmp_path / "managed"
    assert (await run_cli(argv("install", catalog, root)))[0] == 0
    (root / SEED_BUNDLE_ID / "bin/nerdctl").write_text("#!/bin/sh\n")

    code, doctor, _ = await run_cli(argv("doctor", catalog, root))

    assert code == 0
    assert doctor["status"] == "degraded"
    assert doctor["reason"] == "file digest mismatch for 'bin/nerdctl'"


async def test_cli_usage_errors(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "wfc_container", "managed-runtime"]

    missing = await anyio.run_process([*base, "install"], check=False)
    unknown = await anyio.run_process([*base, "explode"], check=False)

    assert missing.returncode == 2
    assert b"--install-root" in missing.stderr
    assert unknown.returncode == 2
    assert b"error:" in unknown.stderr


async def test_cli_operation_error(tmp_path: Path) -> None:
    code, result, stderr = await run_cli(
        argv("install", tmp_path / "absent.json", tmp_path / "managed")
    )

    assert code == 1
    assert result == {}
    assert stderr.startswith("error: ")
    assert "absent.json" in stderr
    assert "Traceback" not in stderr


async def test_cli_signature_failure_exit(
    tmp_path: Path, gnupg: GnuPG, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    object_server.objects["SHA256SUMS.asc"] = b"not a signature"

    code, _, stderr = await run_cli(argv("install", catalog, tmp_path / "managed"))

    assert code == 1
    assert "digest mismatch for 'SHA256SUMS.asc'" in stderr


async def test_cli_package(
    tmp_path: Path, release: Release, object_server: ObjectServer
) -> None:
    catalog = catalog_for(tmp_path, release, object_server)
    out = tmp_path / "release"
    args = argv("package", catalog, tmp_path, "--output-dir", str(out))
    args.remove("--install-root")
    args.remove(str(tmp_path))

    code, result, stderr = await run_cli(args)

    assert code == 0, stderr
    source = out / f"{SEED_BUNDLE_ID}.source.json"
    digest_line = (out / f"{SEED_BUNDLE_ID}.source.json.sha256").read_text()
    assert result["source_manifest_path"] == str(source)
    assert digest_line.endswith(f"  {source.name}\n")
    names = [item["name"] for item in json.loads(source.read_text())["objects"]]
    assert names == [
        release.trust_root_name,
        "SHA256SUMS",
        "SHA256SUMS.asc",
        release.artifact_name,
    ]
    refreshed = json.loads((out / "managed-runtime-bundles.json").read_text())
    assert refreshed["bundles"][0]["valid_until"] == result["valid_until"]
    assert not any(r.path.endswith(".tar.gz") for r in object_server.requests)


def kill_when_present(pid: int, root: Path, relative: str) -> bool:
    """
    Busy-poll each staging directory for ``relative`` and SIGKILL ``pid`` at once.

    Polling in a thread without sleeping keeps the delay to microseconds, so the
    kill lands inside the short window between the manifest write and the
    switch. Returns False when the process ended first.
    """
    staging = root / STAGING_DIR
    while True:
        try:
            os.kill(pid, 0)
            names = os.listdir(staging)
        except ProcessLookupError:
            return False
        except FileNotFoundError:
            continue
        if any(os.path.exists(staging / name / relative) for name in names):
            os.kill(pid, signal.SIGKILL)
            return True


@pytest.mark.parametrize("phase", ["download", "extract", "promote"])
async def test_cli_sigkill(
    phase: str,
    tmp_path: Path,
    gnupg: GnuPG,
    release_key: GpgKey,
    object_server: ObjectServer,
) -> None:
    root = tmp_path / "managed"
    old = make_release(gnupg, release_key)
    old_catalog = catalog_for(tmp_path, old, object_server)
    assert (await run_cli(argv("install", old_catalog, root)))[0] == 0
    big = tmp_path / "big.tar.gz"
    write_archive(big, nerdctl_full_members(), padding=64 << 20)
    new = make_release(gnupg, release_key, artifact=big.read_bytes())
    (tmp_path / "new").mkdir()
    new_catalog = catalog_for(tmp_path / "new", new, object_server)
    if phase == "download":
        object_server.faults[new.artifact_name] = Fault(
            stall_after=1 << 20, stall=60, times=1
        )
    watched = {
        "download": "artifact.tar.gz",
        "extract": "tree/share/doc/nerdctl-full/padding.bin",
        "promote": f"tree/{MANIFEST}",
    }[phase]

    process = await anyio.open_process(argv("reinstall", new_catalog, root))
    try:
        with anyio.fail_after(60):
            killed = await anyio.to_thread.run_sync(
                kill_when_present, process.pid, root, watched
            )
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.aclose()
    assert killed
    assert process.returncode == -signal.SIGKILL

    # Whichever tree is active (a kill during promotion may land just after
    # the switch), it is a complete install that passes doctor.
    code, doctor_old, _ = await run_cli(argv("doctor", old_catalog, root))
    code_new, doctor_new, _ = await run_cli(argv("doctor", new_catalog, root))
    assert code == code_new == 0
    assert "ok" in (doctor_old["status"], doctor_new["status"])
    if phase != "promote":
        assert doctor_old["status"] == "ok"

    code, _, stderr = await run_cli(argv("install", new_catalog, root))
    assert code == 0, stderr
    assert (await run_cli(argv("doctor", new_catalog, root)))[1]["status"] == "ok"
    assert sorted(p.name for p in (root / STAGING_DIR).iterdir()) == []


def test_progress_bar_output(capsys: pytest.CaptureFixture[str]) -> None:
    bar = _ProgressBar()
    mib = 1 << 20
    for done in (0, mib // 2, mib // 2 + 1, 2 * mib):
        bar(DownloadProgress(name="bundle.tar.gz", done=done, total=2 * mib))

    err = capsys.readouterr().err
    assert err.split("\r")[1:] == [
        "bundle.tar.gz    0% 0.0/2.0 MiB",
        "bundle.tar.gz   25% 0.5/2.0 MiB",
        "bundle.tar.gz  100% 2.0/2.0 MiB\n",
    ]


def test_progress_bar_unknown_total(capsys: pytest.CaptureFixture[str]) -> None:
    _ProgressBar()(DownloadProgress(name="b", done=3 << 20, total=None))

    assert capsys.readouterr().err == "\rb    0% 3.0 MiB"


async def test_cli_doctor_shipped_catalog(tmp_path: Path) -> None:
    """Without --catalog the shipped catalog is used; an empty root is missing."""
    args = argv("doctor", tmp_path, tmp_path / "managed")
    at = args.index("--catalog")
    del args[at : at + 2]

    code, result, stderr = await run_cli(args)

    assert code == 0, stderr
    # The shipped catalog fails closed at its valid_until: from then on doctor
    # reports the policy failure instead of the missing install.
    expired = datetime.now(UTC) >= datetime(2026, 12, 31, tzinfo=UTC)
    assert result["status"] == ("degraded" if expired else "missing")
    assert result["bundle_id"] == SEED_BUNDLE_ID
    assert result["valid_until"] == "2026-12-31T00:00:00Z"


async def run_in(cwd: Path, *args: str) -> tuple[int, dict[str, object], str]:
    """Run ``managed-runtime ARGS`` in ``cwd`` with the shipped catalog."""
    done = await anyio.run_process(
        [sys.executable, "-m", "wfc_container", "managed-runtime", *args],
        check=False,
        cwd=cwd,
    )
    stdout = done.stdout.decode()
    result = json.loads(stdout) if stdout.strip() else {}
    return done.returncode, result, done.stderr.decode()


BAD_ID = (
    "expected 1-128 characters of [A-Za-z0-9._-] that start with a letter or"
    " digit and do not end in '.previous' or '.old'"
)
USAGE_CASES = [
    ("uninstall", "--install-root", "", "invalid path '': expected a non-empty path"),
    ("doctor", "--install-root", " ", "invalid path ' ': expected a non-empty path"),
    *(
        (command, "--bundle-id", "../x", f"invalid bundle id '../x': {BAD_ID}")
        for command in ("install", "doctor", "uninstall", "reinstall", "package")
    ),
    ("doctor", "--bundle-id", ".locks", f"invalid bundle id '.locks': {BAD_ID}"),
    ("uninstall", "--bundle-id", "a.previous", "invalid bundle id 'a.previous'"),
    ("doctor", "--bundle-id", "", f"invalid bundle id '': {BAD_ID}"),
    (
        "install",
        "--max-artifact-bytes",
        "-5",
        "invalid number '-5': expected a positive whole number",
    ),
    (
        "install",
        "--mirror",
        "ftp://127.0.0.1/x",
        "invalid mirror 'ftp://127.0.0.1/x': expected an https URL with a host",
    ),
    (
        "reinstall",
        "--mirror",
        "not a url",
        "invalid mirror 'not a url': expected an https URL with a host",
    ),
    (
        "install",
        "--mirror",
        "http://mirror.invalid/x",
        "invalid mirror 'http://mirror.invalid/x': plain http is allowed only to"
        " loopback",
    ),
    (
        "install",
        "--lock-timeout",
        "-1",
        "invalid seconds '-1': expected 0 or a positive number",
    ),
    (
        "uninstall",
        "--lock-timeout",
        "nan",
        "invalid seconds 'nan': expected 0 or a positive number",
    ),
    ("doctor", "--target-os", "", "invalid target '': expected a Go OS"),
    ("doctor", "--target-arch", "mips ", "invalid target 'mips ': expected a Go OS"),
]


@pytest.mark.parametrize(("command", "flag", "value", "message"), USAGE_CASES)
async def test_cli_bad_flag_values(
    tmp_path: Path, command: str, flag: str, value: str, message: str
) -> None:
    """Each bad value is a usage error naming it, and nothing is created."""
    work = tmp_path / "work"
    work.mkdir()
    args = {
        "--install-root": "managed",
        "--bundle-id": SEED_BUNDLE_ID,
        "--output-dir": "out",
    }
    if command == "package":
        del args["--install-root"]
    else:
        del args["--output-dir"]
    args[flag] = value
    flat = [item for pair in args.items() for item in pair]

    code, result, stderr = await run_in(work, command, *flat)

    assert code == 2
    assert result == {}
    assert stderr.startswith(f"error: wfc-container managed-runtime {command}: ")
    assert f"argument {flag}: {message}" in stderr
    assert "Traceback" not in stderr
    assert os.listdir(work) == []


async def test_cli_relative_root_absolute(tmp_path: Path) -> None:
    """A relative install root is taken from the current directory."""
    code, result, stderr = await run_in(
        tmp_path,
        "doctor",
        "--install-root",
        "rel/dir",
        "--bundle-id",
        SEED_BUNDLE_ID,
        "--target-os",
        "linux",
        "--target-arch",
        "amd64",
    )

    assert code == 0, stderr
    assert result["root"] == str(tmp_path / "rel" / "dir" / SEED_BUNDLE_ID)
    assert result["status"] == "missing"
    assert os.listdir(tmp_path) == []


async def test_cli_uninstall_absent_root(tmp_path: Path) -> None:
    """Uninstall from a root that does not exist reports removed=false only."""
    code, result, stderr = await run_in(
        tmp_path, "uninstall", "--install-root", "rel/dir", "--bundle-id", "x"
    )

    assert code == 0, stderr
    assert result["removed"] is False
    assert result["root"] == str(tmp_path / "rel" / "dir" / "x")
    assert os.listdir(tmp_path) == []


async def test_cli_doctor_other_target(tmp_path: Path) -> None:
    """A target that the bundle is not built for is named in the reason."""
    code, result, stderr = await run_in(
        tmp_path,
        "doctor",
        "--install-root",
        str(tmp_path / "managed"),
        "--bundle-id",
        SEED_BUNDLE_ID,
        "--target-os",
        "linux",
        "--target-arch",
        "mips",
    )

    assert code == 0, stderr
    assert result["status"] == "degraded"
    assert result["reason"] == (
        "target linux/mips does not match the bundle's os/arch linux/amd64"
    )
    assert os.listdir(tmp_path) == []
