"""The machine the bench runs on: system packages, the release build of ferry, the file systems it writes to."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .parsers import df_filesystem
from .processes import run_quiet
from .progress import log
from .settings import REPO


def package_installed(name: str) -> bool:
    result = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
    return "install ok installed" in result.stdout


def ensure_packages(packages: list[str]) -> None:
    """apt-get installs what is missing; a policy-rc.d that exits 101 keeps the package's sshd from starting."""
    missing = [p for p in packages if not package_installed(p)]
    if not missing:
        return
    log(f"installing {' '.join(missing)} (policy-rc.d blocks service starts)")
    policy = Path("/usr/sbin/policy-rc.d")
    existing = policy.read_bytes() if policy.exists() else None
    # An existing policy that already refuses starts is left exactly as it is; otherwise ours stands in meanwhile.
    already_blocks = existing is not None and subprocess.run([str(policy)], capture_output=True).returncode == 101
    if not already_blocks:
        policy.write_text("#!/bin/sh\n# written by ferry scripts/bench while it installs packages\nexit 101\n")
        policy.chmod(0o755)
    try:
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", *missing]
        if subprocess.run(install, env=env, stdout=sys.stderr).returncode != 0:
            run_quiet(["apt-get", "update", "-qq"], env=env)
            run_quiet(install, env=env)
    finally:
        if not already_blocks:
            if existing is None:
                policy.unlink()
            else:
                policy.write_bytes(existing)


def build_ferry() -> Path:
    """Release build of ferryd and ferry; returns the directory that holds them."""
    for product in ("ferryd", "ferry"):
        log(f"swift build -c release --product {product}")
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO, check=True,
                       stdout=sys.stderr)
    return Path(run_quiet(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO).stdout.strip())


def filesystem_type(path: Path) -> tuple[str, str]:
    """(type, source) of the file system holding path, as `df -T` reports it; also logs `stat -f`'s view."""
    fstype, source, target = df_filesystem(run_quiet(["df", "--output=fstype,source,target", str(path)]).stdout)
    statf = run_quiet(["stat", "-f", "-c", "%T", str(path)]).stdout.strip()
    log(f"{path}: {fstype} on {source} (mounted at {target}; stat -f: {statf})")
    return fstype, source
