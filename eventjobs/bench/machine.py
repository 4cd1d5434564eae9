"""Where the server and the load generator run, and what machine that is."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from .._version import __version__

#: Packages whose versions are part of a result.
PACKAGES = ("trio", "hypercorn", "quart", "quart-trio", "h11", "attrs", "orjson")


def available_cores() -> list[int]:
    """The CPUs this process may run on (all of them where affinity is unknown)."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def split_cores() -> tuple[set[int] | None, set[int] | None]:
    """(server cores, client cores): one core each when there are two or more.

    None means "do not pin": on one core, or where the OS has no affinity
    call, both sides share whatever the OS gives them.
    """
    cores = available_cores()
    if len(cores) < 2 or not hasattr(os, "sched_setaffinity"):
        return None, None
    return {cores[0]}, set(cores[1:])


def pin_to(cores: set[int] | None):
    """A ``preexec_fn`` pinning the child process to *cores* (or None)."""
    if cores is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cores)

    return pin


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe() -> dict[str, str]:
    """The machine and software a result was measured on."""
    versions = {"eventjobs": __version__}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "-"
    return {
        "cpus": str(os.cpu_count()),
        "cpu model": cpu_model(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "packages": ", ".join(
            f"{name} {version}" for name, version in versions.items()
        ),
    }
