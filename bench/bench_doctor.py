"""
Doctor benchmark: ``managed-runtime doctor`` against ``sha256sum`` over the same files.

Run: python bench/bench_doctor.py [--rounds N] [--work DIR]

Installs the nerdctl-full shaped bundle of ``bench_install.py`` (about 270 MB
compressed, 740 MiB unpacked). It then times the doctor CLI in a fresh
process, start-up and the ``bin/nerdctl --version`` run included. The
baseline is ``sha256sum`` of every regular file in the installed tree, with
the page cache warm for both (target: doctor at most 0.5x).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_install import (
    build_bundle,
    install_cli,
    publish,
    start_server,
    write_bench_catalog,
)

from bundle_fixtures import SEED_BUNDLE_ID, GnuPG


def time_doctor(catalog: Path, root: Path) -> float:
    argv = [
        sys.executable,
        "-m",
        "wfc_container",
        "managed-runtime",
        "doctor",
        "--catalog",
        str(catalog),
        "--install-root",
        str(root),
        "--bundle-id",
        SEED_BUNDLE_ID,
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, check=True)
    elapsed = time.perf_counter() - start
    status = json.loads(done.stdout)["status"]
    if status != "ok":
        msg = f"doctor status {status!r}: {done.stdout.decode()}"
        raise SystemExit(msg)
    return elapsed


def time_sha256sum(tree: Path) -> float:
    files = sorted(
        str(p) for p in tree.rglob("*") if p.is_file() and not p.is_symlink()
    )
    start = time.perf_counter()
    subprocess.run(["sha256sum", *files], capture_output=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/var/tmp/wfc-bench"))
    args = parser.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    artifact = work / "nerdctl-full-bench.tar.gz"
    build_bundle(artifact, unpacked=740 << 20, level=9)

    gnupg = GnuPG()
    serve = work / "serve-doctor"
    release = publish(serve, gnupg, artifact)
    server, base_url = start_server(serve)
    try:
        catalog = write_bench_catalog(
            work / "catalog-doctor.json", release, base_url, artifact
        )
        shutil.rmtree(work / "root-doctor", ignore_errors=True)
        install_cli(catalog, work / "root-doctor")
    finally:
        server.terminate()
        server.wait()
        gnupg.close()

    tree = work / "root-doctor" / SEED_BUNDLE_ID
    time_doctor(catalog, work / "root-doctor")
    time_sha256sum(tree)
    doctors = [time_doctor(catalog, work / "root-doctor") for _ in range(args.rounds)]
    sums = [time_sha256sum(tree) for _ in range(args.rounds)]
    doctor = statistics.median(doctors)
    baseline = statistics.median(sums)
    unpacked = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    print(
        json.dumps(
            {
                "unpacked_bytes": unpacked,
                "doctor_median_s": round(doctor, 3),
                "sha256sum_median_s": round(baseline, 3),
                "ratio": round(doctor / baseline, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
