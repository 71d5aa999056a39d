"""Images built by buildah inside a test (private storage under the test's temporary directory, vfs driver).

``Buildah(tmp_path)`` wraps the real program: ``from_scratch()``, ``busybox()`` (a container holding busybox-static,
so RUN steps have a shell), ``copy``, ``run``, ``config``, ``commit``, and ``save`` to a docker-archive or OCI file.
Tests that need it are skipped when buildah is not installed (.ci/apt-packages installs it for CI).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

BUSYBOX = "/bin/busybox"

needs_buildah = pytest.mark.skipif(shutil.which("buildah") is None, reason="buildah is not installed")


class Buildah:
    """buildah with its own storage in ``tmp``; every command must succeed."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self._base = ["buildah", "--root", str(tmp / "root"), "--runroot", str(tmp / "run"), "--storage-driver", "vfs"]

    def __call__(self, *args: str) -> str:
        done = subprocess.run([*self._base, *args], capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"buildah {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout.strip()

    def from_scratch(self) -> str:
        return self("from", "scratch")

    def busybox(self) -> str:
        """A container whose first layer is busybox-static with its applet links in /bin (a shell for RUN)."""
        if not Path(BUSYBOX).is_file():
            pytest.skip("busybox-static is not installed")
        rootfs = self.tmp / "busybox-rootfs"
        (rootfs / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
        subprocess.run([str(rootfs / "bin" / "busybox"), "--install", "-s", str(rootfs / "bin")], check=True)
        for name in ("etc", "tmp", "root"):
            (rootfs / name).mkdir(exist_ok=True)
        container = self.from_scratch()
        self("add", container, str(rootfs), "/")
        self("config", "--cmd", '["/bin/sh"]', container)
        return container

    def run(self, container: str, script: str) -> None:
        """A RUN step: one layer once committed with ``step``."""
        self("run", "--isolation", "chroot", "--network", "none", container, "/bin/sh", "-c", script)

    def step(self, container: str, name: str) -> str:
        """Commit the container as image ``name`` and go on in a new container from it, so the next changes make
        a new layer (as ``buildah bud --layers`` makes one per step)."""
        self("commit", "-q", "--format", "docker", "--rm", container, name)
        return self("from", name)

    def copy(self, container: str, src: Path, dest: str) -> None:
        self("copy", container, str(src), dest)

    def save(self, container: str, name: str, out: Path, transport: str = "docker-archive") -> Path:
        """Commit the container as ``name`` and write it to ``out`` (``docker-archive`` or ``oci-archive``)."""
        self("commit", "-q", "--format", "docker", "--rm", container, name)
        self("push", "-q", name, f"{transport}:{out}:{name.rpartition('/')[2]}")
        return out
