from __future__ import annotations

import stat
from typing import TYPE_CHECKING

import pytest

from wfc_container.sandbox import EnvRef, SandboxRequestError
from wfc_container.sandbox._env import (
    RESERVED_BUILD_PREFIX,
    check_env,
    resolve_env_refs,
    write_env_file,
)

if TYPE_CHECKING:
    from pathlib import Path


def test_resolve_env_secret_ref() -> None:
    refs = (EnvRef(name="TOKEN", secret_ref="secret://token"),)
    env = resolve_env_refs(refs, {"secret://token": "redacted-token"})
    assert env == {"TOKEN": "redacted-token"}


def test_resolve_env_value_ref_wins() -> None:
    refs = (EnvRef(name="A", value_ref="value://a"),)
    assert resolve_env_refs(refs, {"value://a": "1"}) == {"A": "1"}


def test_resolve_env_duplicate() -> None:
    refs = (EnvRef(name="A", value_ref="v://1"), EnvRef(name="A", value_ref="v://2"))
    with pytest.raises(SandboxRequestError) as caught:
        resolve_env_refs(refs, {"v://1": "x", "v://2": "y"})
    assert str(caught.value) == "invalid env name 'A': expected each name declared once"


def test_resolve_env_missing_ref() -> None:
    refs = (EnvRef(name="A", secret_ref="secret://a"),)
    with pytest.raises(SandboxRequestError) as caught:
        resolve_env_refs(refs, {})
    assert str(caught.value) == (
        "invalid env A ref 'secret://a': expected a reference the host resolved"
    )


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            EnvRef(name="", value_ref="v://a"),
            "invalid env ref name '': expected a non-blank name",
        ),
        (
            EnvRef(name="A"),
            "invalid env A refs 'neither': expected exactly one of value_ref or"
            " secret_ref",
        ),
        (
            EnvRef(name="A", value_ref="v://a", secret_ref="s://a"),
            "invalid env A refs 'both': expected exactly one of value_ref or"
            " secret_ref",
        ),
    ],
)
def test_resolve_env_bad_ref(ref: EnvRef, message: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        resolve_env_refs((ref,), {"v://a": "x", "s://a": "y"})
    assert str(caught.value) == message


@pytest.mark.parametrize("name", ["1A", "A-B", "A B", "Ä", "A=B"])
def test_env_name_rejected(name: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        check_env({name: "x"})
    assert str(caught.value) == (
        f"invalid env name {name!r}: expected a letter or '_' followed by letters,"
        " digits or '_'"
    )


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\x00b"])
def test_env_value_rejected_without_showing_it(value: str) -> None:
    with pytest.raises(SandboxRequestError) as caught:
        check_env({"SECRET_VALUE": value})
    message = str(caught.value)
    assert message == (
        "invalid value of env 'SECRET_VALUE': expected a single line without NUL,"
        " CR or LF (the value is not shown)"
    )
    assert value not in message


def test_env_reserved_prefix_first_sorted() -> None:
    env = {
        "WORKFLOW_COMPUTE_BUILD_TAG": "x",
        "WORKFLOW_COMPUTE_BUILD_DIGEST_FILE": "y",
    }
    with pytest.raises(SandboxRequestError) as caught:
        check_env(env, reserved_prefix=RESERVED_BUILD_PREFIX)
    assert caught.value.value == "WORKFLOW_COMPUTE_BUILD_DIGEST_FILE"
    assert str(caught.value) == (
        "invalid env name 'WORKFLOW_COMPUTE_BUILD_DIGEST_FILE': expected a name not"
        " starting with the reserved 'WORKFLOW_COMPUTE_BUILD_'"
    )


def test_resolve_env_reserved() -> None:
    refs = (EnvRef(name="WORKFLOW_COMPUTE_BUILD_PUSH", value_ref="v://a"),)
    with pytest.raises(SandboxRequestError, match="reserved"):
        resolve_env_refs(refs, {"v://a": "1"}, reserved_prefix=RESERVED_BUILD_PREFIX)


def test_write_env_file(tmp_path: Path) -> None:
    path = write_env_file(str(tmp_path), {"B": "2", "A": "x=y z"})
    assert stat.S_IMODE((tmp_path / "env").stat().st_mode) == 0o600
    assert path == str(tmp_path / "env")
    assert (tmp_path / "env").read_text() == "A=x=y z\nB=2\n"


def test_write_env_file_no_symlink(tmp_path: Path) -> None:
    (tmp_path / "env").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(FileExistsError):
        write_env_file(str(tmp_path), {"A": "1"})
    assert not (tmp_path / "elsewhere").exists()
