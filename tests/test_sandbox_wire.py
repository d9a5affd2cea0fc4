from __future__ import annotations

from datetime import UTC, datetime

from wfc_container._converter import structure
from wfc_container._gojson import dumps
from wfc_container.sandbox import (
    CommandWorkload,
    ContainerBuildWorkload,
    EnvRef,
    ResourceUsage,
    RuntimeExecutionResult,
)

STARTED = datetime(2026, 6, 13, 10, 0, 0, 123456, tzinfo=UTC)
FINISHED = datetime(2026, 6, 13, 10, 0, 1, tzinfo=UTC)


def test_result_json_minimal() -> None:
    result = RuntimeExecutionResult(started_at=STARTED, finished_at=FINISHED)
    assert dumps(result) == (
        '{"started_at":"2026-06-13T10:00:00.123456Z",'
        '"finished_at":"2026-06-13T10:00:01Z"}'
    )


def test_result_json_full() -> None:
    result = RuntimeExecutionResult(
        started_at=STARTED,
        finished_at=FINISHED,
        exit_code=3,
        stdout=b"ok\n",
        stderr=b"\xff",
        artifact_hash="sha256:" + "a" * 64,
        artifacts=("out.txt",),
        resource_usage=ResourceUsage(output_bytes=4, limit_hit="timeout"),
    )
    assert dumps(result) == (
        '{"started_at":"2026-06-13T10:00:00.123456Z",'
        '"finished_at":"2026-06-13T10:00:01Z","exit_code":3,"stdout":"b2sK",'
        '"stderr":"/w==","artifact_hash":"sha256:' + "a" * 64 + '",'
        '"artifacts":["out.txt"],'
        '"resource_usage":{"output_bytes":4,"limit_hit":"timeout"}}'
    )


def test_command_workload_nil_args() -> None:
    assert dumps(CommandWorkload()) == '{"args":null}'


def test_build_workload_json() -> None:
    workload = ContainerBuildWorkload(
        context_directory=".",
        tags=("a:1",),
        env=(EnvRef(name="A", secret_ref="secret://a"),),
    )
    assert dumps(workload) == (
        '{"context_directory":".","tags":["a:1"],'
        '"env":[{"name":"A","secret_ref":"secret://a"}]}'
    )


def test_command_workload_structure() -> None:
    data = {
        "args": ["sh", "-c", "true"],
        "working_directory": "work",
        "env": [{"name": "TOKEN", "secret_ref": "secret://token"}],
        "artifact_allowlist": ["out.txt"],
    }
    workload = structure(data, CommandWorkload, document="command workload")
    assert workload == CommandWorkload(
        args=("sh", "-c", "true"),
        working_directory="work",
        env=(EnvRef(name="TOKEN", secret_ref="secret://token"),),
        artifact_allowlist=("out.txt",),
    )
