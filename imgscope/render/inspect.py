"""``imgscope inspect`` for a terminal. Reads an ``ImageInfo``; computes nothing."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from imgscope.inspect import ImageInfo
from imgscope.render.cells import DigestCell, FitTable
from imgscope.render.terminal import safe, size
from imgscope.sources.created_by import healthcheck_instruction
from imgscope.text import redact

_LABEL = 13  # the longest label, DockerVersion / ExposedPorts


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def render_inspect(info: ImageInfo) -> RenderableType:
    """The image's identity, platform, run-time config, manifest and layers."""
    parts: list[RenderableType] = []
    grid: Table | None = None

    def row(name: str, value: str | None) -> None:
        nonlocal grid
        if not value:
            return
        if grid is None:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold", no_wrap=True, width=_LABEL)
            grid.add_column(overflow="fold")
            parts.append(grid)
        grid.add_row(name, safe(value))

    def whole(name: str, value: str | None) -> None:
        """A digest on one line, never folded (a terminal may wrap it; copied, it stays whole)."""
        nonlocal grid
        if value:
            grid = None
            parts.append(Text.assemble((name.ljust(_LABEL + 2), "bold"), safe(value), no_wrap=True, overflow="ignore"))

    whole("Id", info.id)
    row("RepoTags", ", ".join(info.repo_tags) or "(none)")
    for digest in info.repo_digests:
        whole("RepoDigests", digest)
    row("Created", info.created)
    row("Author", info.author)
    row("Comment", info.comment)
    row("DockerVersion", info.docker_version)
    row("Platform", info.platform)
    row("OsVersion", info.os_version)
    row("Source", f"{info.source} [{info.format}]")
    whole("Manifest", info.manifest_digest)
    row("MediaType", info.manifest_media_type)
    for key, value in sorted(info.annotations.items()):
        row("Annotation", f"{key}={value}")
    c = info.config
    row("User", c.user)
    row("WorkingDir", c.workdir)
    for item in c.env:
        row("Env", redact(item))  # a terminal's text ends up in CI logs: secret-looking values masked (--json: all)
    row("Entrypoint", _json(list(c.entrypoint)) if c.entrypoint is not None else None)
    row("Cmd", _json(list(c.cmd)) if c.cmd is not None else None)
    row("Shell", _json(list(c.shell)) if c.shell is not None else None)
    row("ExposedPorts", " ".join(c.exposed_ports))
    row("Volumes", " ".join(c.volumes))
    for key, value in sorted(c.labels.items()):
        row("Label", redact(f"{key}={value}"))
    if c.healthcheck:
        row("Healthcheck", healthcheck_instruction(c.healthcheck) or _json(c.healthcheck))
    row("StopSignal", c.stop_signal)
    for item in c.on_build:
        row("OnBuild", item)
    row("Stored", size(info.stored_size) if info.stored_size is not None else None)
    entries = "1 entry" if info.history_entries == 1 else f"{info.history_entries} entries"
    row("History", f"{entries}, {info.empty_history_entries} without a layer")
    for note in info.notes:
        row("Note", note)

    layers = FitTable(title="RootFS layers", title_justify="left", optional=("Media type",))
    layers.add_column("#", justify="right")
    layers.add_column("Stored", justify="right")
    layers.add_column("Media type", shrink=10, no_wrap=False, overflow="fold")  # application/vnd. left out
    layers.add_column("diff_id", shrink=20, short=True)  # whole or short (sha256: and 12 hex digits, and …)
    for layer in info.layers:
        media = (layer.media_type or "-").removeprefix("application/vnd.")
        if not layer.available:
            media += " (blob absent)"
        layers.add_row(str(layer.index), size(layer.size), safe(media), DigestCell(layer.diff_id))
    return Group(*parts, layers)
