"""
Probe benchmarks: concurrency, a hung backend, and start-up with no runtime.

Run: python bench/bench_probe.py [--rounds N]

1. Three fake backends, each sleeping 1 s in ``version`` and 1 s in ``run``:
   ``probe --all`` wall time against the slowest single backend and the
   sequential sum, measured in the same run (target: at most 1.15x slowest).
2. A backend that hangs forever in ``version`` with step timeout T: time until
   its report arrives (target: T + 0.3 s) and processes left behind (target 0).
3. ``probe --all`` with no runtime on PATH against
   ``python -c "import anyio, attrs, cattrs; anyio.run(anyio.sleep, 0)"``
   (target: at most 1.5x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakes import write_fake
from runtime_fakes import DOCKER_JSON, NERDCTL_JSON, PODMAN_JSON, runtime_script

SLOW = "sleep 1\n"


def make_slow_runtimes(bin_dir: Path) -> None:
    for name, version in (
        ("podman", PODMAN_JSON),
        ("docker", DOCKER_JSON),
        ("nerdctl", NERDCTL_JSON),
    ):
        body = runtime_script(version_json=version)
        # Sleep before printing the version and before running the container.
        slowed = body.replace("    version)\n", "    version)\n      sleep 1\n", 1)
        slowed = slowed.replace("    run) break;;", "    run) sleep 1; break;;", 1)
        write_fake(bin_dir, name, slowed)


def run_cli(bin_dir: Path, *args: str) -> float:
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir.parent)}
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "wfc_container", "probe", *args, "--format", "json"],
        env=env,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(result.stderr.decode())
    return elapsed


def bench_concurrency(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = Path(tmp) / "bin"
        make_slow_runtimes(bin_dir)
        singles: dict[str, list[float]] = {"podman": [], "docker": [], "nerdctl": []}
        together: list[float] = []
        for _ in range(rounds):
            for name in singles:
                singles[name].append(run_cli(bin_dir, "--backend", name))
            together.append(run_cli(bin_dir, "--all"))
    medians = {name: statistics.median(times) for name, times in singles.items()}
    slowest = max(medians.values())
    sequential = sum(medians.values())
    all_median = statistics.median(together)
    print("1. three backends, 1 s version + 1 s run each")
    for name, value in medians.items():
        print(f"   --backend {name}: median {value:.3f} s")
    print(f"   sequential sum: {sequential:.3f} s")
    print(f"   --all: median {all_median:.3f} s")
    print(
        f"   ratio --all / slowest single: {all_median / slowest:.3f} (target <= 1.15)"
    )


def bench_hang(rounds: int, step_timeout: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = Path(tmp) / "bin"
        marker = f"3600.{os.getpid()}"
        write_fake(bin_dir, "docker", f"sleep {marker} & wait\n")
        times = [
            run_cli(bin_dir, "--backend", "docker", "--step-timeout", str(step_timeout))
            for _ in range(rounds)
        ]
        left = subprocess.run(
            ["pgrep", "-f", f"sleep {marker}"], capture_output=True, check=False
        ).stdout.split()
    median = statistics.median(times)
    print(f"2. docker hangs in version, --step-timeout {step_timeout:g}")
    print(f"   report after: median {median:.3f} s, max {max(times):.3f} s")
    print(f"   over the limit: median {median - step_timeout:.3f} s (target <= 0.3)")
    print(f"   processes left: {len(left)} (target 0)")


def bench_startup(rounds: int) -> None:
    baseline_cmd = [
        sys.executable,
        "-c",
        "import anyio, attrs, cattrs; anyio.run(anyio.sleep, 0)",
    ]
    baseline, probe = [], []
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "bin"
        empty.mkdir()
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run(baseline_cmd, check=True)
            baseline.append(time.perf_counter() - start)
            env = {"PATH": str(empty), "HOME": tmp}
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "wfc_container", "probe", "--all"],
                env=env,
                capture_output=True,
                check=True,
            )
            probe.append(time.perf_counter() - start)
    base, mine = statistics.median(baseline), statistics.median(probe)
    print("3. probe --all with no runtime on PATH")
    print(f"   baseline import anyio, attrs, cattrs: median {base * 1000:.1f} ms")
    print(f"   probe --all: median {mine * 1000:.1f} ms")
    print(f"   ratio: {mine / base:.2f} (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--step-timeout", type=float, default=1.0)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    bench_concurrency(args.rounds)
    bench_hang(args.rounds, args.step_timeout)
    bench_startup(args.rounds * 4)


if __name__ == "__main__":
    main()
