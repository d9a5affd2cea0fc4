from __future__ import annotations

import pytest

from wfc_container.sandbox import (
    DataMount,
    ResourceLimits,
    RunSpec,
    RuntimeTarget,
    SandboxRequestError,
    build_run_argv,
)

USER = (1000, 1000)
BUILD_TMPFS = "/wfcompute-build:rw,noexec,nosuid,nodev,size=512m"
FORBIDDEN = ("--privileged", "--network\0host", "--pid\0host", "--ipc\0host")


def argv_for(spec: RunSpec, tool: str = "docker", **target: object) -> list[str]:
    return build_run_argv(
        spec,
        RuntimeTarget(tool=tool, **target),  # type: ignore[arg-type]
        name="wfcompute-test",
        env_file=None,
        user=USER,
    )


def joined(argv: list[str]) -> str:
    return "\0".join(argv)


def spec(**changes: object) -> RunSpec:
    values: dict[str, object] = {
        "image": "sandbox-image",
        "command": ("sh", "-c", "true"),
        "workspace": "/srv/ws",
    }
    values.update(changes)
    return RunSpec(**values)  # type: ignore[arg-type]


def test_argv_command_profile_hardening() -> None:
    limits = ResourceLimits(memory_bytes=268435456, cpu_percent=50)
    argv = argv_for(spec(runtime_name="runsc", limits=limits, working_dir="work"))
    text = joined(argv)
    for pair in (
        ("--network", "none"),
        ("--cap-drop", "ALL"),
        ("--security-opt", "no-new-privileges"),
        ("--pids-limit", "256"),
        ("--tmpfs", "/tmp:rw,noexec,nosuid,nodev,size=64m"),
        ("--user", "1000:1000"),
        ("--runtime", "runsc"),
        ("--memory", "268435456"),
        ("--cpus", "0.50"),
        ("--mount", "type=bind,src=/srv/ws,dst=/workspace"),
        ("-w", "/workspace/work"),
        ("--pull", "never"),
        ("--name", "wfcompute-test"),
    ):
        assert joined(list(pair)) in text, pair
    assert "--read-only" in argv
    for item in (*FORBIDDEN, "docker.sock"):
        assert item not in text
    assert argv[:3] == ["docker", "run", "--rm"]


def test_argv_image_follows_double_dash() -> None:
    argv = argv_for(spec(command=("serve", "--port", "8080")))
    assert argv[-5:] == ["--", "sandbox-image", "serve", "--port", "8080"]


def test_argv_command_flag_stays_after_image() -> None:
    argv = argv_for(spec(command=("--privileged",)))
    assert argv[-3:] == ["--", "sandbox-image", "--privileged"]
    assert argv.index("--privileged") > argv.index("sandbox-image")


@pytest.mark.parametrize("image", ["--privileged", "-v", "", "a b", "img\n"])
def test_argv_image_rejected(image: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(image=image))
    assert caught.value.field == "image"
    assert str(caught.value) == (
        f"invalid image {image!r}: expected a reference without whitespace,"
        " not starting with '-'"
    )


def test_argv_entrypoint_override() -> None:
    argv = argv_for(
        spec(command=("/workspace/provider/run",), override_entrypoint=True)
    )
    index = argv.index("--entrypoint")
    assert argv[index + 1] == ""
    assert index < argv.index("sandbox-image")
    assert argv[-2:] == ["sandbox-image", "/workspace/provider/run"]


def test_argv_no_entrypoint_without_override() -> None:
    assert "--entrypoint" not in argv_for(spec())


@pytest.mark.parametrize("command", [(), ("",), (" ",)])
def test_argv_entrypoint_needs_command(command: tuple[str, ...]) -> None:
    with pytest.raises(SandboxRequestError, match="expected a program to run"):
        argv_for(spec(command=command, override_entrypoint=True))


@pytest.mark.parametrize(
    ("network", "expected"),
    [("", "none"), ("none", "none"), ("bridge", "bridge"), ("wfcompute-a.1", None)],
)
def test_argv_network_accepted(network: str, expected: str | None) -> None:
    argv = argv_for(spec(network=network))
    assert argv[argv.index("--network") + 1] == (expected or network)


@pytest.mark.parametrize(
    "network", ["host", "container:x", "wfcompute-", "wfcompute-a/b"]
)
def test_argv_network_rejected(network: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(network=network))
    assert str(caught.value) == (
        f"invalid network {network!r}: expected 'none', 'bridge' or a managed"
        " 'wfcompute-*' network"
    )


def test_argv_build_profile() -> None:
    build = spec(
        run_as_root=True,
        add_capabilities=("CHOWN", "FOWNER"),
        extra_tmpfs=(BUILD_TMPFS,),
    )
    argv = argv_for(build)
    text = joined(argv)
    assert "--cap-add\0CHOWN\0--cap-add\0FOWNER" in text
    assert f"--tmpfs\0{BUILD_TMPFS}" in text
    assert "--read-only" in argv
    assert "--user" not in argv
    assert "--cap-add\0SYS_ADMIN" not in text
    for item in FORBIDDEN:
        assert item not in text


def test_argv_build_writable_rootfs() -> None:
    argv = argv_for(spec(run_as_root=True, writable_rootfs=True))
    assert "--read-only" not in argv


@pytest.mark.parametrize(
    ("capability", "run_as_root", "expected"),
    [
        ("SYS_ADMIN", True, "CHOWN or FOWNER, and only for the root build profile"),
        ("CHOWN", False, "CHOWN or FOWNER, and only for the root build profile"),
        ("", True, "an upper-case name"),
        ("chown", True, "an upper-case name"),
    ],
)
def test_argv_capability_rejected(
    capability: str, run_as_root: bool, expected: str
) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(run_as_root=run_as_root, add_capabilities=(capability,)))
    assert (
        str(caught.value) == f"invalid capability {capability!r}: expected {expected}"
    )


@pytest.mark.parametrize(
    ("tmpfs", "run_as_root"),
    [("/var/run:rw,size=1g", True), (BUILD_TMPFS, False), ("", True)],
)
def test_argv_tmpfs_rejected(tmpfs: str, run_as_root: bool) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(run_as_root=run_as_root, extra_tmpfs=(tmpfs,)))
    assert caught.value.field == "tmpfs"
    assert caught.value.value == tmpfs


@pytest.mark.parametrize(
    ("working_dir", "expected"),
    [
        ("", "/workspace"),
        (".", "/workspace"),
        ("a/../b", "/workspace/b"),
        ("a/", "/workspace/a"),
    ],
)
def test_argv_working_dir(working_dir: str, expected: str) -> None:
    argv = argv_for(spec(working_dir=working_dir))
    assert argv[argv.index("-w") + 1] == expected


@pytest.mark.parametrize(
    ("working_dir", "expected"),
    [
        ("../outside", "a path inside the workspace"),
        ("a/../..", "a path inside the workspace"),
        ("/etc", "a relative path in the workspace"),
        ("a\nb", "a relative path in the workspace"),
    ],
)
def test_argv_working_dir_rejected(working_dir: str, expected: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(working_dir=working_dir))
    assert str(caught.value) == (
        f"invalid working_dir {working_dir.strip()!r}: expected {expected}"
    )


def test_argv_podman_rootless_keep_id() -> None:
    argv = argv_for(spec(), tool="podman", rootless=True)
    text = joined(argv)
    assert joined(["--userns", "keep-id", "--user", "1000:1000"]) in text
    assert "--read-only\0--read-only-tmpfs=false" in text


def test_argv_podman_rootful_no_keep_id() -> None:
    argv = argv_for(spec(), tool="podman", rootless=False)
    assert "--userns" not in argv
    assert "--user" in argv


def test_argv_docker_ignores_rootless() -> None:
    assert "--userns" not in argv_for(spec(), tool="docker", rootless=True)


def test_argv_nerdctl_scope() -> None:
    argv = argv_for(
        spec(), tool="nerdctl", scope=("--namespace", "wfcompute-private-image")
    )
    assert argv[:4] == ["nerdctl", "--namespace", "wfcompute-private-image", "run"]


@pytest.mark.parametrize(
    ("tool", "scope", "field"),
    [
        ("nerdctl", ("--address", "/run/containerd/containerd.sock"), "runtime scope"),
        ("docker", ("--namespace", "x"), "runtime scope"),
        ("nerdctl", ("--namespace",), "runtime scope"),
        ("nerdctl", ("--namespace", "a/b"), "runtime scope namespace"),
        ("nerdctl", ("--namespace", "-x"), "runtime scope namespace"),
        ("nerdctl", ("--namespace", " "), "runtime scope namespace"),
    ],
)
def test_argv_scope_rejected(tool: str, scope: tuple[str, ...], field: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(), tool=tool, scope=scope)
    assert caught.value.field == field


@pytest.mark.parametrize("prefix", ["", "-x", "a b", "a/b", "x" * 65])
def test_argv_name_prefix_rejected(prefix: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(), name_prefix=prefix)
    assert caught.value.field == "container name prefix"


def test_argv_unknown_tool() -> None:
    with pytest.raises(SandboxRequestError, match="invalid runtime tool 'lxc'"):
        argv_for(spec(), tool="lxc")


def test_argv_executable_path() -> None:
    argv = argv_for(spec(), tool="docker", executable="/opt/bin/docker")
    assert argv[0] == "/opt/bin/docker"


def test_argv_workspace_with_colon() -> None:
    argv = argv_for(spec(workspace="/srv/a:b"))
    assert "type=bind,src=/srv/a:b,dst=/workspace" in argv


@pytest.mark.parametrize("workspace", ["/srv/a,b", '/srv/a"b', "/srv/a\nb"])
def test_argv_workspace_mount_rejected(workspace: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(workspace=workspace))
    assert str(caught.value) == (
        f"invalid mount source {workspace!r}: expected a path without ',', '\"',"
        " NUL, CR or LF"
    )


def test_argv_data_mount(tmp_path: object) -> None:
    mount = DataMount(
        host_path="/data/set/../set", container_path="/data", required_prefix="/data"
    )
    argv = argv_for(spec(data_mounts=(mount,)))
    assert "type=bind,src=/data/set,dst=/data,readonly" in argv


@pytest.mark.parametrize(
    ("mount", "field"),
    [
        (DataMount(host_path="", container_path="/data"), "mount"),
        (DataMount(host_path="/d", container_path=" "), "mount"),
        (
            DataMount(host_path="/other", container_path="/d", required_prefix="/data"),
            "mount source",
        ),
        (
            DataMount(
                host_path="/database", container_path="/d", required_prefix="/data"
            ),
            "mount source",
        ),
        (DataMount(host_path="/d", container_path="data"), "mount target"),
        (DataMount(host_path="/d", container_path="/a/../etc"), "mount target"),
        (DataMount(host_path="/d,x", container_path="/d"), "mount source"),
        (DataMount(host_path="/d", container_path="/d,readonly=false"), "mount target"),
    ],
)
def test_argv_data_mount_rejected(mount: DataMount, field: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(data_mounts=(mount,)))
    assert caught.value.field == field


def test_argv_env_file_and_state_dir() -> None:
    argv = build_run_argv(
        spec(),
        RuntimeTarget(tool="docker"),
        name="wfcompute-test",
        env_file="/tmp/private/env",
        user=USER,
        build_state_dir="/tmp/build/state",
    )
    text = joined(argv)
    assert "--env-file\0/tmp/private/env" in text
    assert "--mount\0type=bind,src=/tmp/build/state,dst=/wfcompute-build" in text


@pytest.mark.parametrize("name", ["runsc", "io.containerd.runc.v2"])
def test_argv_runtime_name(name: str) -> None:
    argv = argv_for(spec(runtime_name=name))
    assert argv[argv.index("--runtime") + 1] == name


@pytest.mark.parametrize("name", ["-x", "a b", "../runc"])
def test_argv_runtime_name_rejected(name: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        argv_for(spec(runtime_name=name))
    assert caught.value.field == "OCI runtime name"
