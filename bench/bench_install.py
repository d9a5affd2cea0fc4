"""
Install benchmarks: wall time against ``tar -xzf`` and peak RSS by artifact size.

Run: python bench/bench_install.py [--rounds N] [--work DIR] [--skip-rss]

1. A bundle shaped like nerdctl-full (about 250 MB compressed, built from the
   machine's own ELF files so it compresses like real binaries) is served by
   an aiohttp server in its own process on 127.0.0.1. ``managed-runtime
   install`` (a fresh CLI process, start-up included) is timed against
   ``tar -xzf`` of the same file already on disk, in the same run (target:
   at most 1.15x).
2. Peak RSS of the install process for a 256 MiB and a 1 GiB artifact
   (size limit raised with ``--max-artifact-bytes``), from ``wait4``
   (target: at most 64 MiB each).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bundle_fixtures import (
    SEED_BUNDLE_ID,
    ArchiveMember,
    GnuPG,
    Release,
    catalog_document,
    checksum_file,
    nerdctl_full_members,
    write_archive,
    write_catalog,
)

SOURCE_DIRS = ("/usr/lib/x86_64-linux-gnu", "/usr/bin", "/usr/libexec")
PIECE = 24 << 20


def binary_pieces(total: int) -> list[bytes]:
    """Return ``total`` bytes of real ELF and library data in 24 MiB pieces."""
    pieces: list[bytes] = []
    buffer = bytearray()
    while len(pieces) * PIECE < total:
        for directory in SOURCE_DIRS:
            for path in sorted(Path(directory).rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                buffer += path.read_bytes()
                while len(buffer) >= PIECE:
                    pieces.append(bytes(buffer[:PIECE]))
                    del buffer[:PIECE]
                    if len(pieces) * PIECE >= total:
                        return pieces
    return pieces


def build_bundle(path: Path, unpacked: int, level: int) -> None:
    """Write a nerdctl-full shaped tar.gz with ``unpacked`` bytes of binaries."""
    if path.exists():
        return
    members = nerdctl_full_members()
    partial = path.with_suffix(".partial")
    with tarfile.open(partial, "w:gz", compresslevel=level) as archive:
        for member in members:
            _add(archive, member)
        for index, piece in enumerate(binary_pieces(unpacked)):
            info = tarfile.TarInfo(f"bin/tool-{index:02d}")
            info.size = len(piece)
            info.mode = 0o755
            archive.addfile(info, _Reader(piece))
    partial.rename(path)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.offset = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk = self.data[self.offset : end].tobytes()
        self.offset += len(chunk)
        return chunk


def _add(archive: tarfile.TarFile, member: ArchiveMember) -> None:
    types = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
    }
    info = tarfile.TarInfo(member.name)
    info.type = types[member.kind]
    info.mode = member.mode
    info.linkname = member.target
    info.size = len(member.data) if member.kind == "file" else 0
    archive.addfile(info, _Reader(member.data) if member.kind == "file" else None)


def file_digest(path: Path) -> str:
    with path.open("rb") as stream:
        return "sha256:" + hashlib.file_digest(stream, "sha256").hexdigest()


def publish(serve: Path, gnupg: GnuPG, artifact: Path) -> Release:
    """Sign a release of ``artifact`` into ``serve`` and return it (no payload)."""
    serve.mkdir(parents=True, exist_ok=True)
    key = gnupg.generate_key(f"Bench Release {serve.name} <bench@example.test>")
    name = "nerdctl-full-2.3.1-linux-amd64.tar.gz"
    target = serve / name
    target.unlink(missing_ok=True)
    os.link(artifact, target)
    checksums = checksum_file({name: file_digest(artifact).removeprefix("sha256:")})
    release = Release(
        version="2.3.1",
        os="linux",
        arch="amd64",
        artifact_name=name,
        artifact=b"",
        checksums=checksums,
        signature=gnupg.sign(key, checksums),
        trust_root=gnupg.export(key),
        trust_root_name=f"{key.key_id}.gpg",
        key=key,
    )
    for object_name, data in release.objects().items():
        if object_name != name:
            (serve / object_name).write_bytes(data)
    return release


SERVER = """
import asyncio, sys
from aiohttp import web

async def main():
    app = web.Application()
    app.router.add_static("/", sys.argv[1])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def start_server(serve: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Serve ``serve`` from a separate process; return it and its base URL."""
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(serve)], stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    return server, f"http://127.0.0.1:{port}"


def write_bench_catalog(
    path: Path, release: Release, base_url: str, artifact: Path
) -> Path:
    document = catalog_document(release, base_url=base_url)
    bundle = document["bundles"][0]  # type: ignore[index]
    digest = file_digest(artifact)
    bundle["artifact_digest"] = digest
    bundle["signature_subject"]["artifact_digest"] = digest
    return write_catalog(path, document)


def install_cli(catalog: Path, root: Path, *extra: str) -> tuple[float, int]:
    """Run the install CLI; return its wall time and peak RSS in KiB."""
    argv = [
        sys.executable,
        "-m",
        "wfc_container",
        "managed-runtime",
        "install",
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
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        raise SystemExit(process.stderr.read().decode())
    return elapsed, usage.ru_maxrss


def tar_extract(archive: Path, dest: Path) -> float:
    dest.mkdir(parents=True)
    start = time.perf_counter()
    subprocess.run(["tar", "-xzf", str(archive), "-C", str(dest)], check=True)
    return time.perf_counter() - start


def bench_wall(work: Path, gnupg: GnuPG, rounds: int) -> dict[str, object]:
    artifact = work / "nerdctl-full-bench.tar.gz"
    build_bundle(artifact, unpacked=740 << 20, level=9)
    serve = work / "serve"
    release = publish(serve, gnupg, artifact)
    server, base_url = start_server(serve)
    try:
        catalog = write_bench_catalog(
            work / "catalog.json", release, base_url, artifact
        )
        installs, tars = [], []
        for index in range(rounds):
            shutil.rmtree(work / "root", ignore_errors=True)
            shutil.rmtree(work / "tar", ignore_errors=True)
            tars.append(tar_extract(artifact, work / "tar"))
            installs.append(install_cli(catalog, work / "root")[0])
            print(f"round {index}: tar {tars[-1]:.2f} s, install {installs[-1]:.2f} s")
    finally:
        server.terminate()
        server.wait()
    install_median = statistics.median(installs)
    tar_median = statistics.median(tars)
    return {
        "artifact_bytes": artifact.stat().st_size,
        "install_median_s": round(install_median, 3),
        "tar_median_s": round(tar_median, 3),
        "ratio": round(install_median / tar_median, 3),
    }


def bench_rss(work: Path, gnupg: GnuPG) -> dict[str, object]:
    results: dict[str, object] = {}
    for label, size in (("256MiB", 256 << 20), ("1GiB", 1 << 30)):
        artifact = work / f"rss-{label}.tar.gz"
        if not artifact.exists():
            # Random padding does not compress, so the artifact itself has the size.
            write_archive(artifact, nerdctl_full_members(), padding=size)
        serve = work / f"serve-{label}"
        release = publish(serve, gnupg, artifact)
        server, base_url = start_server(serve)
        try:
            catalog = write_bench_catalog(
                work / f"catalog-{label}.json", release, base_url, artifact
            )
            shutil.rmtree(work / "root", ignore_errors=True)
            limit = str(artifact.stat().st_size + (1 << 20))
            elapsed, rss_kib = install_cli(
                catalog, work / "root", "--max-artifact-bytes", limit
            )
        finally:
            server.terminate()
            server.wait()
        results[label] = {
            "artifact_bytes": artifact.stat().st_size,
            "peak_rss_mib": round(rss_kib / 1024, 1),
            "wall_s": round(elapsed, 2),
        }
        print(label, results[label])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/wfc-bench"))
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    gnupg = GnuPG()
    try:
        report = {"wall": bench_wall(args.work, gnupg, args.rounds)}
        if not args.skip_rss:
            report["rss"] = bench_rss(args.work, gnupg)
    finally:
        gnupg.close()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
