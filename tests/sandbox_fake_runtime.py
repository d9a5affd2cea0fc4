"""A fake docker/podman/nerdctl CLI for sandbox tests, written as a Python script."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

# The fake logs every call as a JSON line to calls.jsonl beside itself. For
# ``run`` it also records the env file's mode and content, writes files into
# the workspace mount, prints and sleeps as behavior.json specifies, and marks the
# container as running until ``rm -f`` removes it.
_SCRIPT = r"""
import json, os, stat, sys, time
fake_dir = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
call = {"argv": args}
behavior = json.load(open(os.path.join(fake_dir, "behavior.json")))
running = os.path.join(fake_dir, "running")

def value_after(flag):
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]

while args and args[0] == "--namespace":
    args = args[2:]
command = args[0] if args else ""
if command == "run":
    for env_file in value_after("--env-file"):
        info = os.stat(env_file)
        call["env_file_mode"] = stat.S_IMODE(info.st_mode)
        call["env_file"] = open(env_file).read()
        call["env_dir_mode"] = stat.S_IMODE(os.stat(os.path.dirname(env_file)).st_mode)
    mounts = {}
    for spec in value_after("--mount"):
        fields = dict(part.split("=", 1) for part in spec.split(",") if "=" in part)
        mounts[fields["dst"]] = fields["src"]
    for dst, src in mounts.items():
        for name, content in behavior.get("write", {}).get(dst, {}).items():
            with open(os.path.join(src, name), "w") as file:
                file.write(content)
    call["modes"] = {
        p: stat.S_IMODE(os.lstat(os.path.join(mounts["/workspace"], p)).st_mode)
        for p in behavior.get("report_modes", [])
    }
    with open(os.path.join(fake_dir, "calls.jsonl"), "a") as log:
        log.write(json.dumps(call) + "\n")
    open(running, "w").write(value_after("--name")[0])
    sys.stdout.write(behavior.get("stdout", ""))
    sys.stderr.write(behavior.get("stderr", ""))
    sys.stdout.flush()
    time.sleep(behavior.get("sleep", 0))
    if not behavior.get("keep_running"):
        os.unlink(running)
    sys.exit(behavior.get("exit", 0))
with open(os.path.join(fake_dir, "calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\n")
if command == "rm":
    if os.path.exists(running) and not behavior.get("rm_fails"):
        os.unlink(running)
elif command == "ps":
    if os.path.exists(running):
        print(open(running).read())
"""


def make_fake_runtime(directory: Path, tool: str, behavior: dict[str, object]) -> Path:
    """Write the fake CLI ``directory/tool`` with ``behavior`` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "behavior.json").write_text(json.dumps(behavior))
    path = directory / tool
    path.write_text(f"#!{sys.executable}\n" + _SCRIPT)
    path.chmod(0o755)
    return path


def read_calls(directory: Path) -> list[dict[str, object]]:
    """Return the calls the fake logged, oldest first."""
    log = directory / "calls.jsonl"
    if not log.exists():
        return []

    return [json.loads(line) for line in log.read_text().splitlines()]
