"""Tests of the image error leaves: family, builtin bases and message form."""

from __future__ import annotations

import pytest

from wfc_container import ImageError, WfcError
from wfc_container.image import (
    CompileError,
    CompilerNotFoundError,
    ImageLoadError,
    ImageOptionError,
    ImageStepTimeoutError,
    ImageWriteError,
    ProbeSourceNotFoundError,
    RuntimeToolNotFoundError,
    StaticLibcMissingError,
)

CASES = [
    (
        ProbeSourceNotFoundError(paths=["/a.c", "/b.c"]),
        "probe program source not found: looked in ['/a.c', '/b.c']",
        FileNotFoundError,
    ),
    (
        CompilerNotFoundError(compiler="gcc"),
        "C compiler 'gcc' not found on PATH: required by image build",
        FileNotFoundError,
    ),
    (
        StaticLibcMissingError(compiler="/usr/bin/gcc", output="cannot find -lc"),
        "static C library not found by '/usr/bin/gcc': "
        "expected libc.a for -static, compiler output 'cannot find -lc'",
        ImageError,
    ),
    (
        CompileError(compiler="gcc", exit_code=1, output="boom"),
        "compiling the probe program with 'gcc' failed: "
        "expected exit code 0, got 1 with output 'boom'",
        ImageError,
    ),
    (
        ImageOptionError(field="backend", value="lxc", expected="one of podman"),
        "invalid backend 'lxc': expected one of podman",
        ValueError,
    ),
    (
        ImageWriteError(path="/x/image.tar", reason="No such file or directory"),
        "cannot write image archive '/x/image.tar': No such file or directory",
        OSError,
    ),
    (
        RuntimeToolNotFoundError(backend="containerd", tool="ctr"),
        "'ctr' not found on PATH: required to load into containerd",
        FileNotFoundError,
    ),
    (
        ImageLoadError(backend="docker", reference="r:1", problem="docker exited"),
        "loading 'r:1' into docker failed: docker exited",
        ImageError,
    ),
    (
        ImageStepTimeoutError(step="build", timeout=1.5),
        "image build timed out after 1.5 s",
        TimeoutError,
    ),
]


@pytest.mark.parametrize(
    ("error", "message", "builtin"),
    CASES,
    ids=[type(case[0]).__name__ for case in CASES],
)
def test_image_error_renders(
    error: ImageError, message: str, builtin: type[BaseException]
) -> None:
    rendered = str(error)

    assert rendered == message
    assert "\n" not in rendered
    assert not rendered.endswith(".")
    assert isinstance(error, builtin)
    assert type(error).__mro__.index(WfcError) == 2


def test_toolchain_errors_hint_package() -> None:
    for error in (
        CompilerNotFoundError(compiler="gcc"),
        StaticLibcMissingError(compiler="gcc", output=""),
    ):
        assert error.hint == (
            "install a C compiler and the static C library, on Debian: "
            "apt-get install gcc libc6-dev"
        )
