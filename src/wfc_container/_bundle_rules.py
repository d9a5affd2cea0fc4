"""
Validation of a managed runtime bundle descriptor, rule for rule as the protocol.

Every failing rule is reported, in the protocol's order, as the Go validator
joins them into one error.

.. note:: Messages for unknown enum values and an unsupported protocol version
   follow the protocol's ``%q is unsupported`` form; their exact Go text was
   not available.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING

from ._gojson import is_zero_time
from ._textrules import (
    digest_problems,
    identifier_problems,
    required_public_text_problems,
    required_runtime_identifier_problems,
)
from ._wire import (
    PROTOCOL_VERSION,
    ContainerRuntimeTool,
    RuntimeBackendFamily,
    RuntimeInstallBurden,
)

if TYPE_CHECKING:
    from datetime import datetime

    from ._wire import ManagedRuntimeBundleDescriptor


_SUBJECT = "signature_subject."


def go_quote(value: object) -> str:
    """Return ``value`` quoted as Go's ``%q`` writes a printable string."""
    text = value.value if isinstance(value, enum.Enum) else str(value)
    return json.dumps(text, ensure_ascii=False)


def enum_problems(
    field: str, value: object, cls: type[enum.Enum], *, required: bool
) -> list[str]:
    """
    Check that ``value`` is a known ``cls`` value.

    ``None`` and ``""`` are unset: a problem only when ``required``. Plain
    strings are accepted when they equal a member's value.
    """
    if value is None or value == "":
        return [f"{field} is required"] if required else []
    if isinstance(value, cls) or value in {m.value for m in cls}:
        return []

    return [f"{field} {go_quote(value)} is unsupported"]


def protocol_version_problems(value: str) -> list[str]:
    """Check that a ``protocol_version`` is empty or ``compute.v1alpha1``."""
    if value in ("", PROTOCOL_VERSION):
        return []

    return [f"protocol_version {go_quote(value)} is unsupported"]


def _text(value: object) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)

    return "" if value is None else str(value)


def bundle_problems(
    desc: ManagedRuntimeBundleDescriptor, *, now: datetime | None
) -> tuple[str, ...]:
    """
    Check a bundle descriptor at time ``now`` and return every problem in order.

    :param desc: the descriptor to check.
    :param now: the validation time; ``valid_until`` must be strictly after it.
        ``None`` is reported as ``validation time is required``.
    :returns: the problems, empty when the descriptor is valid.
    """
    problems: list[str] = []
    if now is None or is_zero_time(now):
        problems.append("validation time is required")
    problems += protocol_version_problems(desc.protocol_version)
    problems += required_runtime_identifier_problems("bundle_id", desc.bundle_id)
    problems += enum_problems(
        "family", desc.family, RuntimeBackendFamily, required=True
    )
    problems += enum_problems("tool", desc.tool, ContainerRuntimeTool, required=False)
    problems += _artifact_problems(desc)
    problems += _signature_problems(desc)
    problems += _subject_problems(desc)
    problems += _valid_until_problems(desc, now)
    problems += _policy_problems(desc)
    problems += _scoped_store_problems(desc)
    problems += _target_problems(desc)
    problems += required_runtime_identifier_problems(
        "conformance_profile", desc.conformance_profile
    )
    problems += _install_burden_problems(desc.install_burden)
    return tuple(problems)


def _artifact_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    problems: list[str] = []
    for field in ("version", "os", "arch", "artifact_name"):
        problems += required_runtime_identifier_problems(field, getattr(desc, field))
    problems += digest_problems("artifact_digest", desc.artifact_digest, required=True)
    return problems


def _signature_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    return [
        *identifier_problems("checksum_name", desc.checksum_name),
        *digest_problems("checksum_digest", desc.checksum_digest, required=True),
        *identifier_problems("signature_name", desc.signature_name),
        *digest_problems("signature_digest", desc.signature_digest, required=True),
        *required_public_text_problems("signature_issuer", desc.signature_issuer),
        *identifier_problems("signature_key_id", desc.signature_key_id),
        *digest_problems("trust_root_digest", desc.trust_root_digest, required=True),
    ]


def _subject_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    subject = desc.signature_subject
    problems = _subject_digest_problems(
        "artifact_digest",
        subject.artifact_digest,
        desc.artifact_digest,
        "artifact_digest",
    )
    problems += enum_problems(
        _SUBJECT + "runtime_family",
        subject.runtime_family,
        RuntimeBackendFamily,
        required=True,
    )
    problems += _match(
        _SUBJECT + "runtime_family", subject.runtime_family, desc.family, "family"
    )
    problems += _subject_field_problems(desc)
    problems += _subject_digest_problems(
        "scoped_store_policy_digest",
        subject.scoped_store_policy_digest,
        desc.scoped_store.policy_digest,
        "scoped_store.policy_digest",
    )
    return problems


def _subject_field_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    pairs = (
        ("os", desc.os, "os"),
        ("arch", desc.arch, "arch"),
        ("version", desc.version, "version"),
        ("channel", desc.update_policy.channel, "update_policy.channel"),
        ("conformance_profile", desc.conformance_profile, "conformance_profile"),
    )
    problems: list[str] = []
    for name, other, other_field in pairs:
        value = getattr(desc.signature_subject, name)
        problems += identifier_problems(_SUBJECT + name, value)
        problems += _match(_SUBJECT + name, value, other, other_field)

    return problems


def _subject_digest_problems(
    name: str, value: str, other: str, other_field: str
) -> list[str]:
    problems = digest_problems(_SUBJECT + name, value, required=True)
    return problems + _match(_SUBJECT + name, value, other, other_field)


def _match(field: str, value: object, other: object, other_field: str) -> list[str]:
    left, right = _text(value), _text(other)
    if left and right and left != right:
        return [f"{field} must match {other_field}"]

    return []


def _valid_until_problems(
    desc: ManagedRuntimeBundleDescriptor, now: datetime | None
) -> list[str]:
    if desc.valid_until is None or is_zero_time(desc.valid_until):
        return ["valid_until is required"]
    if now is not None and desc.valid_until <= now:
        return ["valid_until must be in the future"]

    return []


def _policy_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    update, cve = desc.update_policy, desc.cve_policy
    problems = required_runtime_identifier_problems(
        "update_policy.channel", update.channel
    )
    problems += required_runtime_identifier_problems(
        "update_policy.min_supported_version", update.min_supported_version
    )
    problems += _each_identifier(
        "update_policy.blocked_versions", update.blocked_versions
    )
    problems += digest_problems(
        "cve_policy.policy_digest", cve.policy_digest, required=True
    )
    problems += _each_identifier("cve_policy.blocked_versions", cve.blocked_versions)
    problems += _each_identifier("cve_policy.revoked_key_ids", cve.revoked_key_ids)
    problems += required_runtime_identifier_problems(
        "cve_policy.updated_by_version", cve.updated_by_version
    )
    return problems


def _each_identifier(field: str, values: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    for index, value in enumerate(values):
        problems += identifier_problems(f"{field}[{index}]", value)

    return problems


def _scoped_store_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    store = desc.scoped_store
    problems = [
        f"scoped_store.{name} must be true"
        for name in ("required", "cleanup_required", "host_global_visibility_forbidden")
        if not getattr(store, name)
    ]
    problems += required_runtime_identifier_problems(
        "scoped_store.namespace_strategy", store.namespace_strategy
    )
    problems += required_runtime_identifier_problems(
        "scoped_store.store_strategy", store.store_strategy
    )
    problems += digest_problems(
        "scoped_store.policy_digest", store.policy_digest, required=True
    )
    return problems


def _target_problems(desc: ManagedRuntimeBundleDescriptor) -> list[str]:
    targets = desc.supported_targets or ()
    if not targets:
        return ["supported_targets are required"]

    problems: list[str] = []
    for index, target in enumerate(targets):
        problems += identifier_problems(f"supported_targets[{index}].os", target.os)
        problems += identifier_problems(f"supported_targets[{index}].arch", target.arch)
    if not any(t.os == desc.os and t.arch == desc.arch for t in targets):
        problems.append("supported_targets must include os/arch")

    return problems


def _install_burden_problems(burden: RuntimeInstallBurden | None) -> list[str]:
    problems = enum_problems(
        "install_burden", burden, RuntimeInstallBurden, required=True
    )
    if not problems and _text(burden) != RuntimeInstallBurden.BUNDLED.value:
        problems.append("install_burden must be bundled for managed runtime bundles")

    return problems
