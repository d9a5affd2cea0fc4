"""
Build the conformance probe image without a registry or network.

The static probe program is compiled from its C source and packed into a
one-layer image archive. Every timestamp, owner, mode and member order is
fixed, so the same source and compiler give the same bytes. The archive is an
OCI image layout that also carries a ``docker save`` style ``manifest.json``,
so ``docker load``, ``podman load`` and ``ctr images import`` all accept it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import platform
import shutil
import tarfile
import tempfile
from pathlib import Path

import anyio
import attrs

from .._errors import CommandStartError
from .._meta import PROBE_IMAGE_REFERENCE, __version__
from ..probes._process import run_command
from ._errors import (
    CompileError,
    CompilerNotFoundError,
    ImageStepTimeoutError,
    ImageWriteError,
    ProbeSourceNotFoundError,
    StaticLibcMissingError,
)

logger = logging.getLogger("wfc_container.probes")

SOURCE_NAME = "wfcompute-sandbox-probe.c"
PROGRAM_PATH = "usr/local/bin/wfcompute-sandbox-probe"
COMPILER = "gcc"
# Every member and the image config carry this time: the Unix epoch.
FIXED_MTIME = 0
FIXED_CREATED = "1970-01-01T00:00:00Z"
_OCI_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64"}
_MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
_CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
_LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar"
# Directories a runtime mounts over or that podman's --read-only covers with tmpfs.
# /tmp and /var/tmp keep the sticky world-writable mode they have on any system.
# /workspace exists so that a run without the workspace mount still starts (podman
# rejects a missing working directory on a read-only root) and reports the failure.
_DIRECTORIES = (
    ("dev", 0o755),
    ("etc", 0o755),
    ("proc", 0o555),
    ("run", 0o755),
    ("sys", 0o555),
    ("tmp", 0o1777),
    ("usr", 0o755),
    ("usr/local", 0o755),
    ("usr/local/bin", 0o755),
    ("var", 0o755),
    ("var/tmp", 0o1777),
    ("workspace", 0o755),
)
_PASSWD = b"root:x:0:0:root:/:/usr/local/bin/wfcompute-sandbox-probe\n"
_GROUP = b"root:x:0:\n"


@attrs.frozen(kw_only=True)
class ImageBuildResult:
    """
    A probe image archive written to disk.

    ``digest`` is the OCI manifest digest and ``image_id`` the config digest,
    which is what ``docker image inspect --format {{.Id}}`` prints after a load.
    """

    digest: str
    image_id: str
    path: Path
    reference: str


async def build_probe_image(
    output: Path, *, timeout: float | None = 120.0
) -> ImageBuildResult:
    """
    Compile the probe program and write the probe image archive to ``output``.

    :param output: path of the archive to write; its directory must exist. An
        existing file is replaced only once the new archive is complete.
    :param timeout: limit in seconds for the whole build (default 120), or
        ``None`` for no limit.
    :returns: the digests, the path and the reference the archive is tagged with.
    :raises CompilerNotFoundError: when ``gcc`` is not on ``PATH``.
    :raises StaticLibcMissingError: when the static C library is missing.
    :raises CompileError: when the compiler fails for another reason.
    :raises ProbeSourceNotFoundError: when the C source is not installed.
    :raises ImageWriteError: when ``output`` cannot be written.
    :raises ImageStepTimeoutError: when ``timeout`` expires first.
    """
    try:
        with anyio.fail_after(timeout):
            program = await _compile_probe_program()
            return await anyio.to_thread.run_sync(_write_archive, program, output)
    except TimeoutError as exc:
        if isinstance(exc, ImageStepTimeoutError):
            raise
        assert timeout is not None
        raise ImageStepTimeoutError(step="build", timeout=timeout) from None


async def _compile_probe_program() -> bytes:
    """
    Compile the probe program statically and return the executable's bytes.

    :raises CompilerNotFoundError: when ``gcc`` is not on ``PATH``.
    :raises StaticLibcMissingError: when the static C library is missing.
    :raises CompileError: when the compiler fails for another reason.
    """
    source = find_probe_source()
    compiler = shutil.which(COMPILER)
    if compiler is None:
        raise CompilerNotFoundError(compiler=COMPILER)

    with tempfile.TemporaryDirectory(prefix="wfcompute-probe-build-") as workdir:
        target = Path(workdir, "wfcompute-sandbox-probe")
        argv = _compile_argv(compiler, source, target)
        try:
            result = await run_command(
                argv, env=_compiler_env(), timeout=None, step="compile", cwd=workdir
            )
        except CommandStartError as exc:
            raise CompilerNotFoundError(compiler=compiler) from exc

        _check_compile_result(compiler, result.exit_code, result.stderr)
        program = await anyio.Path(target).read_bytes()

    logger.debug("image.program.compiled size=%d", len(program))
    return program


def find_probe_source() -> Path:
    """
    Return the path of the probe program's C source.

    A wheel carries it inside the package; a source checkout keeps it in
    ``probe-program/`` at the repository root.
    """
    package_dir = Path(__file__).resolve().parent
    candidates = (
        package_dir / SOURCE_NAME,
        package_dir.parents[2] / "probe-program" / SOURCE_NAME,
    )
    for candidate in candidates:
        if candidate.is_file():
            return candidate

    raise ProbeSourceNotFoundError(paths=[str(path) for path in candidates])


def _compile_argv(compiler: str, source: Path, target: Path) -> list[str]:
    # -s drops symbols, and the prefix map and random seed keep the checkout's path
    # and per-run randomness out of the binary, so the output is reproducible.
    return [
        compiler,
        "-static",
        "-Os",
        "-s",
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-frandom-seed=wfcompute-sandbox-probe",
        f"-ffile-prefix-map={source.parent}=.",
        f'-DWFCOMPUTE_PROBE_VERSION="{__version__}"',
        "-o",
        str(target),
        str(source),
    ]


def _compiler_env() -> dict[str, str]:
    # LC_ALL=C keeps the linker's "cannot find -lc" message in English.
    env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C", "LANG": "C"}
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def _check_compile_result(compiler: str, exit_code: int, stderr: bytes) -> None:
    if exit_code == 0:
        return

    output = stderr.decode("utf-8", errors="replace").strip()
    last_lines = " | ".join(output.splitlines()[-3:])
    if "cannot find -lc" in output:
        raise StaticLibcMissingError(compiler=compiler, output=last_lines)
    raise CompileError(compiler=compiler, exit_code=exit_code, output=last_lines)


def _write_archive(program: bytes, output: Path) -> ImageBuildResult:
    archive, digest, image_id = build_archive_bytes(program)
    temporary = output.with_name(f".{output.name}.partial")
    try:
        temporary.write_bytes(archive)
        temporary.replace(output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise ImageWriteError(
            path=str(output), reason=exc.strerror or str(exc)
        ) from exc

    logger.info("image.build.written path=%s digest=%s", output, digest)
    return ImageBuildResult(
        digest=digest, image_id=image_id, path=output, reference=PROBE_IMAGE_REFERENCE
    )


def build_archive_bytes(program: bytes) -> tuple[bytes, str, str]:
    """
    Pack ``program`` into an image archive.

    :returns: the archive bytes, the manifest digest and the config digest.
    """
    layer = _layer_tar(program)
    layer_digest = _digest(layer)
    architecture = _oci_architecture()
    config = _json_bytes(_image_config(layer_digest, architecture))
    config_digest = _digest(config)
    manifest = _json_bytes(
        {
            "schemaVersion": 2,
            "mediaType": _MANIFEST_TYPE,
            "config": _descriptor(_CONFIG_TYPE, config),
            "layers": [_descriptor(_LAYER_TYPE, layer)],
        }
    )
    members = [
        ("oci-layout", _json_bytes({"imageLayoutVersion": "1.0.0"})),
        ("index.json", _json_bytes(_image_index(manifest, architecture))),
        ("manifest.json", _docker_manifest(config_digest, layer_digest)),
        *sorted(
            (_blob_path(_digest(blob)), blob) for blob in (config, manifest, layer)
        ),
    ]
    archive = _tar_bytes(("blobs", "blobs/sha256"), members)
    return archive, _digest(manifest), config_digest


def _docker_manifest(config_digest: str, layer_digest: str) -> bytes:
    # The docker-archive index that docker load and podman load read.
    entry = {
        "Config": _blob_path(config_digest),
        "RepoTags": [PROBE_IMAGE_REFERENCE],
        "Layers": [_blob_path(layer_digest)],
    }
    return _json_bytes([entry])


def _image_config(layer_digest: str, architecture: str) -> dict[str, object]:
    return {
        "architecture": architecture,
        "os": "linux",
        "created": FIXED_CREATED,
        "config": {
            "Cmd": ["/" + PROGRAM_PATH],
            "Env": ["PATH=/usr/local/bin"],
            "WorkingDir": "/",
            "Labels": {
                "org.opencontainers.image.title": "wfcompute-probe",
                "org.opencontainers.image.version": __version__,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [
            {"created": FIXED_CREATED, "created_by": "wfc-container image build"}
        ],
    }


def _image_index(manifest: bytes, architecture: str) -> dict[str, object]:
    descriptor = _descriptor(_MANIFEST_TYPE, manifest)
    # ctr names the image after io.containerd.image.name, OCI tools use ref.name.
    descriptor["annotations"] = {
        "io.containerd.image.name": PROBE_IMAGE_REFERENCE,
        "org.opencontainers.image.ref.name": PROBE_IMAGE_REFERENCE,
    }
    descriptor["platform"] = {"architecture": architecture, "os": "linux"}
    return {"schemaVersion": 2, "manifests": [descriptor]}


def _layer_tar(program: bytes) -> bytes:
    entries: list[tuple[str, bytes | None, int]] = [
        (name, None, mode) for name, mode in _DIRECTORIES
    ]
    entries += [
        ("etc/group", _GROUP, 0o644),
        ("etc/passwd", _PASSWD, 0o644),
        (PROGRAM_PATH, program, 0o755),
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data, mode in sorted(entries, key=lambda entry: entry[0]):
            _add_member(tar, name, data, mode)
    return buffer.getvalue()


def _tar_bytes(directories: tuple[str, ...], files: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in directories:
            _add_member(tar, name, None, 0o755)
        for name, data in files:
            _add_member(tar, name, data, 0o644)
    return buffer.getvalue()


def _add_member(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if data is None:
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        return

    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _oci_architecture() -> str:
    machine = platform.machine().lower()
    return _OCI_ARCHITECTURES.get(machine, machine)


def _descriptor(media_type: str, blob: bytes) -> dict[str, object]:
    return {"mediaType": media_type, "digest": _digest(blob), "size": len(blob)}


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _blob_path(digest: str) -> str:
    return "blobs/sha256/" + digest.removeprefix("sha256:")
