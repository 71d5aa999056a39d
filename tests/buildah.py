"""Images built by buildah inside a test (private storage under the test's temporary directory).

``Buildah(tmp_path)`` wraps the real program: ``from_scratch()``, ``copy``, ``save`` for single-layer images;
``busybox_base(tag)`` (an image holding busybox-static, so RUN steps have a shell) and ``bud(containerfile, tag)``
(``buildah bud --layers``: a layer per RUN, history as Docker writes it) for built ones; ``push`` writes an image
to a docker-archive or OCI file. The overlay driver stores what a RUN writes as Docker's overlay2 does (a file
written again with the same metadata is in the new layer; vfs would see no change). Tests that need it are
skipped when buildah is not installed (.ci/apt-packages installs it for CI).
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

    def __init__(self, tmp: Path, driver: str = "overlay") -> None:
        self.tmp = tmp
        self._base = ["buildah", "--root", str(tmp / "root"), "--runroot", str(tmp / "run"), "--storage-driver", driver]

    def __call__(self, *args: str) -> str:
        done = subprocess.run([*self._base, *args], capture_output=True, text=True, check=False, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"buildah {' '.join(args)}: {done.stderr.strip()[-2000:]}")
        return done.stdout.strip()

    def from_scratch(self) -> str:
        return self("from", "scratch")

    def copy(self, container: str, src: Path, dest: str) -> None:
        self("copy", container, str(src), dest)

    def busybox_base(self, tag: str) -> str:
        """An image of one layer: busybox-static with its applet links in /bin (a shell for RUN)."""
        if not Path(BUSYBOX).is_file():
            pytest.skip("busybox-static is not installed")
        rootfs = self.tmp / "busybox-rootfs"
        (rootfs / "bin").mkdir(parents=True, exist_ok=True)
        shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
        for applet in applets:  # relative links: they resolve inside the container
            link = rootfs / "bin" / applet
            if applet != "busybox" and not link.is_symlink():
                link.symlink_to("busybox")
        for name in ("etc", "tmp", "root"):
            (rootfs / name).mkdir(exist_ok=True)
        container = self.from_scratch()
        self("add", container, str(rootfs), "/")
        self("config", "--cmd", '["/bin/sh"]', container)
        self("commit", "-q", "--format", "docker", "--rm", container, tag)
        return tag

    def bud(self, containerfile: str, tag: str) -> str:
        """``buildah bud --layers`` of ``containerfile`` (an empty build context)."""
        context = self.tmp / f"context-{tag.replace('/', '_').replace(':', '_')}"
        context.mkdir(exist_ok=True)
        (context / "Containerfile").write_text(containerfile)
        self(
            *("bud", "-q", "--isolation", "chroot", "--network", "host", "--layers", "--format", "docker"),
            *("-t", tag, "-f", str(context / "Containerfile"), str(context)),
        )
        return tag

    def push(self, tag: str, out: Path, transport: str = "docker-archive") -> Path:
        """Write image ``tag`` to ``out`` (``docker-archive`` or ``oci-archive``)."""
        self("push", "-q", tag, f"{transport}:{out}:{tag.rpartition('/')[2]}")
        return out

    def save(self, container: str, name: str, out: Path, transport: str = "docker-archive") -> Path:
        """Commit the container as ``name`` and write it to ``out``."""
        self("commit", "-q", "--format", "docker", "--rm", container, name)
        return self.push(name, out, transport)


def built_on_busybox(tmp_path_factory: pytest.TempPathFactory, name: str, containerfile: str) -> Path:
    """A docker-archive of ``containerfile`` (``{base}`` standing for a busybox base image) built by buildah in
    a temporary directory of its own, for a module's fixture; the test is skipped without buildah."""
    if needs_buildah.args[0]:
        pytest.skip("buildah is not installed")
    tmp = tmp_path_factory.mktemp(name)
    b = Buildah(tmp)
    base = b.busybox_base(f"localhost/{name}-base:1")
    b.bud(containerfile.replace("{base}", base), f"localhost/{name}:1")
    return b.push(f"localhost/{name}:1", tmp / f"{name}.tar")
