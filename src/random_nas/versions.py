"""Versions of what produced a result, recorded with every metrics file and table."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import random_nas


def package_versions(*packages: str) -> dict[str, str]:
    found = {"python": platform.python_version(), "random_nas": random_nas.__version__}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found
