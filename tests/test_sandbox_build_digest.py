from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from wfc_container.sandbox import BuildDigestError, ContainerBuildWorkload
from wfc_container.sandbox._build_digest import (
    DIGEST_FILE_NAME,
    build_control_env,
    clean_container_path,
    create_build_state_dir,
    read_build_digest,
    remove_build_state_dir,
)

DIGEST = "sha256:" + "a" * 64


def test_control_env_values() -> None:
    workload = ContainerBuildWorkload(
        context_directory="./app/",
        tags=("example:one", "example:two"),
        push_target_ref="push://registry/app",
        pull_target_ref="pull://registry/base",
    )
    env = build_control_env(workload)
    assert env == {
        "WORKFLOW_COMPUTE_BUILD_CONTEXT": "app",
        "WORKFLOW_COMPUTE_BUILD_DOCKERFILE": "Dockerfile",
        "WORKFLOW_COMPUTE_BUILD_TAG": "example:one",
        "WORKFLOW_COMPUTE_BUILD_TAGS": '["example:one","example:two"]',
        "WORKFLOW_COMPUTE_BUILD_PULL_TARGET_REF": "pull://registry/base",
        "WORKFLOW_COMPUTE_BUILD_PUSH_TARGET_REF": "push://registry/app",
        "WORKFLOW_COMPUTE_BUILD_STATE_DIR": "/wfcompute-build",
        "WORKFLOW_COMPUTE_BUILD_DIGEST_FILE": (
            "/wfcompute-build/wfcompute-container-build-digest"
        ),
        "WORKFLOW_COMPUTE_BUILD_PUSH": "true",
    }


def test_control_env_no_push_and_html_escape() -> None:
    workload = ContainerBuildWorkload(
        context_directory=".", dockerfile="build/Containerfile", tags=("a<b>&",)
    )
    env = build_control_env(workload)
    assert env["WORKFLOW_COMPUTE_BUILD_PUSH"] == "false"
    assert env["WORKFLOW_COMPUTE_BUILD_DOCKERFILE"] == "build/Containerfile"
    assert env["WORKFLOW_COMPUTE_BUILD_TAGS"] == '["a\\u003cb\\u003e\\u0026"]'
    assert json.loads(env["WORKFLOW_COMPUTE_BUILD_TAGS"]) == ["a<b>&"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", "."), (".", "."), ("/abs/dir", "abs/dir"), ("a//b/./c/", "a/b/c")],
)
def test_clean_container_path(value: str, expected: str) -> None:
    assert clean_container_path(value) == expected


def test_state_dir_private_parent() -> None:
    parent, state = create_build_state_dir()
    try:
        assert stat.S_IMODE(os.stat(parent).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(state).st_mode) == 0o777
        assert os.path.dirname(state) == parent
    finally:
        remove_build_state_dir(parent)
    assert not os.path.exists(parent)


def test_read_digest(tmp_path: Path) -> None:
    (tmp_path / DIGEST_FILE_NAME).write_text(f"  {DIGEST}\n")
    assert read_build_digest(str(tmp_path)) == DIGEST


def test_read_digest_missing(tmp_path: Path) -> None:
    with pytest.raises(BuildDigestError) as caught:
        read_build_digest(str(tmp_path))
    path = str(tmp_path / DIGEST_FILE_NAME)
    assert str(caught.value) == f"build digest file {path!r} was not written"


def test_read_digest_symlink(tmp_path: Path) -> None:
    (tmp_path / "real").write_text(DIGEST)
    (tmp_path / DIGEST_FILE_NAME).symlink_to(tmp_path / "real")
    with pytest.raises(BuildDigestError) as caught:
        read_build_digest(str(tmp_path))
    assert caught.value.problem == "is not a regular file"


@pytest.mark.parametrize(
    "content",
    ["sha256:" + "A" * 64, "sha256:" + "a" * 63, "not a digest", DIGEST + "0" * 5000],
)
def test_read_digest_invalid(tmp_path: Path, content: str) -> None:
    (tmp_path / DIGEST_FILE_NAME).write_text(content)
    with pytest.raises(BuildDigestError) as caught:
        read_build_digest(str(tmp_path))
    assert caught.value.problem == (
        f"holds {content[:80]!r}, expected sha256:<64 lowercase hex digits>"
    )
