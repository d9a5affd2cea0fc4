"""Turn a probe's outcome into the wire reason, the local hint and the executors."""

from __future__ import annotations

import attrs

from .._textrules import scrub_public_text
from .._wire import (
    ExecutionSecurityTier,
    ExecutorRef,
    ProofTier,
    RuntimeBackendStatus,
    RuntimeProfile,
)
from ._claims import claim_digest
from ._classify import Cause

# Profile -> (executor provider, claim salt), as the Go probe maps them.
PROFILE_PROVIDERS = {
    RuntimeProfile.SANDBOXED_OCI_V1: ("sandboxed-command", "command"),
    RuntimeProfile.CONTAINER_BUILD_V1: ("sandboxed-container-build", "container-build"),
}

_HINTS = {
    Cause.NOT_INSTALLED: "install {tool} or put it on PATH",
    Cause.UNREACHABLE: "start {service}, or check the endpoint shown above",
    Cause.PERMISSION_DENIED: "run as a user allowed to open the {tool} endpoint",
    Cause.ROOTLESS_SETUP_MISSING: (
        "add subordinate id ranges for this user to /etc/subuid and /etc/subgid"
    ),
    Cause.ROOTLESS_CONTAINERD_MISSING: (
        "run as root, or start rootless containerd"
        " (containerd-rootless-setuptool.sh install)"
    ),
    Cause.IMAGE_MISSING: (
        "load the probe image: python -m wfc_container image load --backend {tool}"
    ),
    Cause.PROBE_PROGRAM_MISSING: (
        "use the project's probe image (python -m wfc_container image build)"
    ),
    Cause.WORKSPACE_UNREADABLE: (
        "check the SELinux labels and user namespace mapping of the temporary directory"
    ),
}


@attrs.frozen(kw_only=True)
class Verdict:
    """Why a backend is not supported: status, step, cause and a short detail."""

    status: RuntimeBackendStatus
    step: str
    cause: Cause
    detail: str = ""

    def reason(self) -> str:
        """Return the reason in plain words; it is scrubbed before it is shipped."""
        if self.cause is Cause.TIMED_OUT:
            return f"timed out in {self.step} step after {self.detail}"
        text = f"{self.step} step: {self.cause.value}"
        return f"{text}: {self.detail}" if self.detail else text


def shippable_reason(verdict: Verdict) -> tuple[str, tuple[str, ...]]:
    """Return the verdict's reason as public text and what was removed from it."""
    scrubbed = scrub_public_text(verdict.reason())
    return scrubbed.text, scrubbed.removed


# The service each tool needs; nerdctl has none of its own, only containerd.
_SERVICES = {
    "docker": "the Docker daemon",
    "podman": "the Podman service or machine",
    "nerdctl": "containerd",
}


def hint_for(cause: Cause, tool: str) -> str | None:
    """Return advice for a person on this host, or ``None``."""
    template = _HINTS.get(cause)
    if template is None:
        return None
    return template.format(
        tool=tool, service=_SERVICES.get(tool, f"the {tool} service")
    )


def build_executors(
    profiles: tuple[RuntimeProfile, ...], version: str
) -> tuple[tuple[str, ...], tuple[ExecutorRef, ...]]:
    """
    Return the providers and executors a supported report advertises.

    Profiles map to providers in order and duplicates are kept, as in the Go
    probe. The digests are claims over provider, version and salt, not image
    digests: the protocol has no way yet to name the image that ran.
    """
    providers: list[str] = []
    executors: list[ExecutorRef] = []
    shown_version = version or "unknown"
    for profile in profiles:
        if profile not in PROFILE_PROVIDERS:
            continue
        provider, salt = PROFILE_PROVIDERS[profile]
        providers.append(provider)
        executors.append(
            ExecutorRef(
                provider=provider,
                version=shown_version,
                execution_security_tier=ExecutionSecurityTier.SANDBOXED_CONTAINER,
                proof_tier=ProofTier.ARTIFACT_HASH,
                image_digest=claim_digest(provider, version, salt, "image"),
                rootfs_digest=claim_digest(provider, version, salt, "rootfs"),
            )
        )
    return tuple(providers), tuple(executors)
