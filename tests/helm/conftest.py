"""Shared helpers of the chart's tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import helmctl  # noqa: E402


def kinds(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = kinds(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {[o['metadata'].get('name') for o in found]}"
    return found[0]


def kubectl(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """kubectl against the test API server."""
    cmd = ["kubectl", "--kubeconfig", helmctl.kubeconfig(), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def cluster() -> str:
    """The test API server's kubeconfig; fails (never skips) without one."""
    try:
        return helmctl.kubeconfig()
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
