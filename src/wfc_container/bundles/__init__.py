"""Managed containerd/nerdctl runtime bundles: verified install, doctor, uninstall."""

from __future__ import annotations

__all__ = ()
