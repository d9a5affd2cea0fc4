"""
Field rules of a bundle descriptor, in the protocol's order and with its messages.

Two rules are stricter than the original validator: ``valid_until`` must lie
after the validation time (equal counts as expired, as before), and every
``supported_targets`` entry must be the artifact's own os/arch pair.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._textrules import (
    digest_problems,
    identifier_problems,
    required_public_text_problems,
    required_runtime_identifier_problems,
)
from .._wire import (
    PROTOCOL_VERSION,
    ManagedRuntimeBundleDescriptor,
    RuntimeInstallBurden,
)

if TYPE_CHECKING:
    from datetime import datetime


def validate_descriptor(
    bundle: ManagedRuntimeBundleDescriptor, now: datetime
) -> list[str]:
    """Check a descriptor's fields at ``now``; return every problem, in rule order."""
    return [
        *_identity_problems(bundle),
        *_pin_problems(bundle),
        *_subject_problems(bundle),
        *_validity_problems(bundle, now),
        *_policy_field_problems(bundle),
        *_supported_target_problems(bundle),
        *required_runtime_identifier_problems(
            "conformance_profile", bundle.conformance_profile
        ),
        *_burden_problems(bundle),
    ]


def _identity_problems(bundle: ManagedRuntimeBundleDescriptor) -> list[str]:
    problems = []
    if bundle.protocol_version not in ("", PROTOCOL_VERSION):
        problems.append(f"protocol_version must be {PROTOCOL_VERSION}")
    problems += required_runtime_identifier_problems("bundle_id", bundle.bundle_id)
    if bundle.family is None:
        problems.append("family is required")
    for field in ("version", "os", "arch", "artifact_name"):
        problems += required_runtime_identifier_problems(field, getattr(bundle, field))

    return problems + digest_problems(
        "artifact_digest", bundle.artifact_digest, required=True
    )


def _pin_problems(bundle: ManagedRuntimeBundleDescriptor) -> list[str]:
    problems = identifier_problems("checksum_name", bundle.checksum_name)
    problems += digest_problems(
        "checksum_digest", bundle.checksum_digest, required=True
    )
    problems += identifier_problems("signature_name", bundle.signature_name)
    problems += digest_problems(
        "signature_digest", bundle.signature_digest, required=True
    )
    problems += required_public_text_problems(
        "signature_issuer", bundle.signature_issuer
    )
    problems += identifier_problems("signature_key_id", bundle.signature_key_id)
    return problems + digest_problems(
        "trust_root_digest", bundle.trust_root_digest, required=True
    )


def _subject_problems(bundle: ManagedRuntimeBundleDescriptor) -> list[str]:
    subject = bundle.signature_subject
    family = "" if bundle.family is None else str(bundle.family)
    pairs = (
        (
            "artifact_digest",
            subject.artifact_digest,
            bundle.artifact_digest,
            "artifact_digest",
        ),
        ("runtime_family", subject.runtime_family, family, "family"),
        ("os", subject.os, bundle.os, "os"),
        ("arch", subject.arch, bundle.arch, "arch"),
        ("version", subject.version, bundle.version, "version"),
        (
            "channel",
            subject.channel,
            bundle.update_policy.channel,
            "update_policy.channel",
        ),
        (
            "conformance_profile",
            subject.conformance_profile,
            bundle.conformance_profile,
            "conformance_profile",
        ),
        (
            "scoped_store_policy_digest",
            subject.scoped_store_policy_digest,
            bundle.scoped_store.policy_digest,
            "scoped_store.policy_digest",
        ),
    )
    problems = []
    for field, value, expected, expected_name in pairs:
        name = f"signature_subject.{field}"
        if field.endswith("digest"):
            problems += digest_problems(name, value, required=True)
        else:
            problems += identifier_problems(name, value)
        if value and expected and value != expected:
            problems.append(f"{name} must match {expected_name}")

    return problems


def _validity_problems(
    bundle: ManagedRuntimeBundleDescriptor, now: datetime
) -> list[str]:
    if bundle.valid_until is None:
        return ["valid_until is required"]
    # The shipped catalog fails closed: a bundle is unusable from valid_until on.
    if bundle.valid_until <= now:
        return [f"valid_until {bundle.valid_until.isoformat()} has passed"]

    return []


def _policy_field_problems(bundle: ManagedRuntimeBundleDescriptor) -> list[str]:
    update, cve, store = bundle.update_policy, bundle.cve_policy, bundle.scoped_store
    problems = identifier_problems("update_policy.channel", update.channel)
    problems += identifier_problems(
        "update_policy.min_supported_version", update.min_supported_version
    )
    for index, value in enumerate(update.blocked_versions):
        problems += identifier_problems(
            f"update_policy.blocked_versions[{index}]", value
        )
    problems += digest_problems(
        "cve_policy.policy_digest", cve.policy_digest, required=True
    )
    for index, value in enumerate(cve.blocked_versions):
        problems += identifier_problems(f"cve_policy.blocked_versions[{index}]", value)
    for index, value in enumerate(cve.revoked_key_ids):
        problems += identifier_problems(f"cve_policy.revoked_key_ids[{index}]", value)
    problems += identifier_problems(
        "cve_policy.updated_by_version", cve.updated_by_version
    )
    for flag in ("required", "cleanup_required", "host_global_visibility_forbidden"):
        if not getattr(store, flag):
            problems.append(f"scoped_store.{flag} must be true")
    problems += identifier_problems(
        "scoped_store.namespace_strategy", store.namespace_strategy
    )
    problems += identifier_problems("scoped_store.store_strategy", store.store_strategy)
    return problems + digest_problems(
        "scoped_store.policy_digest", store.policy_digest, required=True
    )


def _supported_target_problems(bundle: ManagedRuntimeBundleDescriptor) -> list[str]:
    if not bundle.supported_targets:
        return ["supported_targets are required"]

    problems = []
    for index, target in enumerate(bundle.supported_targets):
        problems += identifier_problems(f"supported_targets[{index}].os", target.os)
        problems += identifier_problems(f"supported_targets[{index}].arch", target.arch)
        # An artifact is built for one os/arch, so any other pair is a mistake.
        if (target.os, target.arch) != (bundle.os, bundle.arch):
            problems.append(
                f"supported_targets[{index}] {target.os}/{target.arch} does not match "
                f"the artifact's os/arch {bundle.os}/{bundle.arch}"
            )

    return problems


def _burden_problems(bundle: ManagedRuntimeBundleDescriptor) -> list[str]:
    if bundle.install_burden is RuntimeInstallBurden.BUNDLED:
        return []

    return ["install_burden must be bundled for managed runtime bundles"]
