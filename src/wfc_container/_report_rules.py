"""
Validation of a runtime backend report, rule for rule as the protocol.

Every failing rule is reported in the protocol's order, so a report that fails
here is one the host would reject.

.. note:: Where the protocol's message text is not known (status-dependent
   rules, unknown enum values, executor checks), the wording here follows the
   protocol's style but is not copied from its validator.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ._bundle_rules import (
    bundle_problems,
    enum_problems,
    protocol_version_problems,
)
from ._errors import DocumentError
from ._gojson import is_zero_time
from ._textrules import (
    digest_problems,
    go_trim_space,
    identifier_problems,
    public_text_problems,
)
from ._wire import (
    ContainerRuntimeTool,
    ExecutionSecurityTier,
    ExecutorRef,
    ProofTier,
    RuntimeBackendFamily,
    RuntimeBackendReport,
    RuntimeBackendStatus,
    RuntimeInstallBurden,
    RuntimeIsolationMode,
    RuntimeProfile,
)

# Tiers whose executors run no image, so they carry no image or rootfs digest.
_TIERS_WITHOUT_IMAGE = frozenset(
    {ExecutionSecurityTier.TRUSTED_NATIVE, ExecutionSecurityTier.WASM_CAPABILITY}
)
_EVIDENCE_FLAGS = ("workspace", "network", "env", "proof", "cleanup")


def validate_report(
    report: RuntimeBackendReport, *, now: datetime | None = None
) -> None:
    """
    Raise when ``report`` breaks a protocol rule.

    :param report: the report to check.
    :param now: the time a bundle's ``valid_until`` is compared with; the
        current UTC time when omitted.
    :raises DocumentError: listing every problem, in the protocol's order.
    """
    problems = report_problems(report, now=now or datetime.now(UTC))
    if problems:
        raise DocumentError(document="runtime backend report", problems=problems)


def report_problems(report: RuntimeBackendReport, *, now: datetime) -> tuple[str, ...]:
    """
    Check ``report`` at time ``now`` and return every problem in order.

    :param report: the report to check.
    :param now: the validation time, used for the bundle's ``valid_until``.
    :returns: the problems, empty when the report is valid.
    """
    problems = identifier_problems("backend_id", report.backend_id)
    problems += enum_problems(
        "family", report.family, RuntimeBackendFamily, required=True
    )
    problems += enum_problems(
        "status", report.status, RuntimeBackendStatus, required=True
    )
    problems += enum_problems(
        "isolation_mode", report.isolation_mode, RuntimeIsolationMode, required=True
    )
    if is_zero_time(report.generated_at):
        problems.append("generated_at is required")
    problems += protocol_version_problems(report.protocol_version)
    problems += enum_problems("tool", report.tool, ContainerRuntimeTool, required=False)
    problems += enum_problems(
        "install_burden", report.install_burden, RuntimeInstallBurden, required=False
    )
    for field in ("version", "os", "arch"):
        problems += public_text_problems(field, getattr(report, field))
    problems += _list_problems(report)
    for index, detail in enumerate(report.evidence.details):
        problems += public_text_problems(f"evidence.details[{index}]", detail)
    problems += _bundle_section_problems(report, now)
    problems += public_text_problems("reason", report.reason)
    for index, constraint in enumerate(report.constraints):
        problems += public_text_problems(f"constraints[{index}]", constraint)
    problems += _status_problems(report)
    return tuple(problems)


def _list_problems(report: RuntimeBackendReport) -> list[str]:
    problems: list[str] = []
    for index, profile in enumerate(report.runtime_profiles):
        field = f"runtime_profiles[{index}]"
        problems += enum_problems(field, profile, RuntimeProfile, required=True)
    for index, provider in enumerate(report.executor_providers):
        problems += identifier_problems(f"executor_providers[{index}]", provider)
    for index, executor in enumerate(report.executors):
        problems += executor_problems(executor, index=index)
    for index, name in enumerate(report.conformance_profiles):
        problems += identifier_problems(f"conformance_profiles[{index}]", name)

    return problems


def executor_problems(executor: ExecutorRef, *, index: int) -> list[str]:
    """
    Check one advertised executor as the protocol does for proofs.

    Problems are prefixed ``executors[<index>]: ``, except the public-text check
    of ``version``, which names ``executors[<index>].version`` itself.
    """
    prefix = f"executors[{index}]: "
    problems = [prefix + p for p in _executor_proof_problems(executor)]
    problems += public_text_problems(f"executors[{index}].version", executor.version)
    return problems


def _executor_proof_problems(executor: ExecutorRef) -> list[str]:
    tier, proof = executor.execution_security_tier, executor.proof_tier
    problems = [
        f"executor.{name} is required"
        for name, value in (
            ("provider", executor.provider),
            ("version", executor.version),
            ("execution_security_tier", tier),
            ("proof_tier", proof),
        )
        if not value
    ]
    if executor.provider:
        problems += identifier_problems("executor.provider", executor.provider)
    if tier:
        field = "executor.execution_security_tier"
        problems += enum_problems(field, tier, ExecutionSecurityTier, required=True)
    if proof:
        problems += enum_problems(
            "executor.proof_tier", proof, ProofTier, required=True
        )
    needs_image = bool(tier) and tier not in _TIERS_WITHOUT_IMAGE
    for name in ("image_digest", "rootfs_digest"):
        value = getattr(executor, name)
        problems += digest_problems(
            f"executor.{name}", value, required=needs_image, lowercase_only=False
        )

    return problems


def _bundle_section_problems(report: RuntimeBackendReport, now: datetime) -> list[str]:
    bundle = report.bundle
    if bundle is None:
        return []

    problems: list[str] = []
    if report.install_burden != RuntimeInstallBurden.BUNDLED:
        problems.append("install_burden must be bundled when bundle is present")
    problems += ["bundle: " + p for p in bundle_problems(bundle, now=now)]
    for field in ("family", "tool", "os", "arch", "version"):
        ours, theirs = _plain(getattr(report, field)), _plain(getattr(bundle, field))
        if ours and theirs and ours != theirs:
            problems.append(f"bundle.{field} must match {field}")

    return problems


def _plain(value: object) -> str:
    text = getattr(value, "value", value)
    return "" if text is None else str(text)


def _status_problems(report: RuntimeBackendReport) -> list[str]:
    status = _plain(report.status)
    if status == RuntimeBackendStatus.SUPPORTED.value:
        return _supported_problems(report)
    if status not in (
        RuntimeBackendStatus.DEGRADED.value,
        RuntimeBackendStatus.UNSUPPORTED.value,
    ):
        return []

    problems: list[str] = []
    if not go_trim_space(report.reason):
        problems.append(f"reason is required when runtime backend is {status}")
    for field in ("executor_providers", "executors"):
        if getattr(report, field):
            problems.append(
                f"{field} must be empty unless runtime backend is supported"
            )

    return problems


def _supported_problems(report: RuntimeBackendReport) -> list[str]:
    problems: list[str] = []
    if report.install_burden == RuntimeInstallBurden.BUNDLED and report.bundle is None:
        problems.append("bundle is required when install_burden is bundled")
    for field in ("executor_providers", "runtime_profiles", "conformance_profiles"):
        if not getattr(report, field):
            problems.append(f"{field} are required when runtime backend is supported")
    problems += digest_problems(
        "evidence.digest", report.evidence.digest, required=True
    )
    problems += [
        f"evidence.{flag} must be true when runtime backend is supported"
        for flag in _EVIDENCE_FLAGS
        if not getattr(report.evidence, flag)
    ]
    return problems
