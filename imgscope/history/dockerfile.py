"""A Dockerfile reconstructed from an image's history and config (``imgscope history --dockerfile``).

Each history entry is read by ``created_by.parse_created_by`` (the builders' forms are listed there); one that
is no Dockerfile instruction (``busybox-static rootfs``) is kept as a comment: it made the layer. Where the
history is lossy and the config exact (the final CMD, ENTRYPOINT, HEALTHCHECK), the config wins; what the
config holds and no history entry made (BuildKit's ONBUILD, images made without a Dockerfile) follows the
history's steps. The base image ends where ``base_image.find_base`` says.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from imgscope._display import Displayable
from imgscope.analysis import Analysis
from imgscope.history.base_image import BaseImage, find_base
from imgscope.history.rows import HISTORY_SCHEMA_VERSION
from imgscope.model import Image, RuntimeConfig
from imgscope.sources.created_by import DEFAULT_SHELL, Step, go_list, healthcheck_instruction, parse_created_by
from imgscope.sources.detect import open_image
from imgscope.text import first_layers, one_line


@dataclass(frozen=True)
class Instruction:
    """A line of the reconstructed Dockerfile and where it came from.

    Attributes:
        keyword: "" for a step that is no Dockerfile instruction (shown as a comment)
        arguments: the rest of the line
        history_index: None for a line imgscope added (FROM, ARG before a RUN that used it, SHELL)
        layer: the layer the step made
        source: "history", "config" (the history was lossy; the config's value is shown), "added"
    """

    keyword: str
    arguments: str
    history_index: int | None
    layer: int | None
    source: str

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.arguments}".strip() if self.keyword else f"# {self.arguments}"


@dataclass(frozen=True, repr=False)  # repr: one line, from the display registry
class Dockerfile(Displayable):
    """The reconstruction: the base image's steps (for reference) and the image's own.

    Attributes:
        base: where the base image ends, when the image tells.
        base_steps: the base image's steps, for reference (commented out in ``text()``).
        instructions: the image's own steps, FROM first.
        image: the image's name, when it has one.
        notes: the image's notes (what was chosen for the user, and why).
    """

    base: BaseImage | None
    base_steps: tuple[Instruction, ...]
    instructions: tuple[Instruction, ...]
    image: str | None = None
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        """As a Dockerfile: the base's steps commented out, then FROM and the image's own steps."""
        lines = ["# Reconstructed by imgscope from the image history; sources of COPY/ADD are content hashes."]
        if self.base is not None:
            b = self.base
            span = first_layers(b.layer_count)
            lines.append(f"# Base image: {b.name or 'unnamed'} ({span}); found by: {b.evidence}.")
            if b.digest:
                lines.append(f"# Base digest: {b.digest}")
            lines.extend(f"#   {one_line(i.text.removeprefix('# '), 100)}" for i in self.base_steps)
        else:
            lines.append("# The image does not say where its base ends: every step follows, as if FROM scratch.")
        config_note = False
        for ins in self.instructions:
            if ins.source == "config" and ins.history_index is None and not config_note:
                lines.append("# From the config: settings no history entry made")
                config_note = True
            if ins.layer is not None:
                lines.append(f"# layer {ins.layer}")
            body = ins.text.split("\n")
            if ins.keyword == "RUN" and len(body) > 1:
                lines.append(_heredoc_run(ins.arguments))
            else:
                lines.append("\n# ".join(body))
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``imgscope history --dockerfile --json`` (``docs/json.md``)."""
        return {
            "schema_version": HISTORY_SCHEMA_VERSION,
            "image": self.image,
            "dockerfile": self.body_to_dict(),
            "notes": list(self.notes),
        }

    def body_to_dict(self) -> dict[str, Any]:
        """The reconstruction itself (the document's ``dockerfile`` member)."""

        def one(i: Instruction) -> dict[str, Any]:
            return {
                "instruction": i.keyword or None,
                "arguments": i.arguments,
                "text": i.text,
                "history_index": i.history_index,
                "layer": i.layer,
                "source": i.source,
            }

        return {
            "base": self.base.to_dict() if self.base is not None else None,
            "base_steps": [one(i) for i in self.base_steps],
            "instructions": [one(i) for i in self.instructions],
            "text": self.text(),
        }


def reconstruct(
    source: str | os.PathLike[str] | Image | Analysis, *, image: str | None = None, platform: str | None = None
) -> Dockerfile:
    """The Dockerfile that made an image (a path, an ``Image`` or an ``Analysis``), as far as its history and config
    tell. Reads metadata only."""
    if isinstance(source, (str, os.PathLike)):
        source = open_image(source, image=image, platform=platform)
    return _reconstruct(source.image if isinstance(source, Analysis) else source)


def _reconstruct(image: Image) -> Dockerfile:
    base = find_base(image)
    cut = base.history_count if base is not None else 0
    runtime = image.runtime
    steps = [parse_created_by(h.created_by or "") for h in image.history]
    last_of: dict[str, int] = {}
    for position, step in enumerate(steps):
        last_of[step.keyword] = position

    base_steps = tuple(
        Instruction(s.keyword, s.arguments or "(empty history entry)", n, image.history[n].layer_index, "history")
        for n, s in enumerate(steps[:cut])
    )
    out: list[Instruction] = []
    if base is not None and base.name:
        out.append(Instruction("FROM", base.name, None, None, "added"))
    elif base is not None:
        out.append(Instruction("FROM", f"<base image: {first_layers(base.layer_count)}>", None, None, "added"))
    else:
        out.append(Instruction("FROM", "scratch", None, None, "added"))
    shell = DEFAULT_SHELL
    args: dict[str, str] = {}
    for position in range(cut, len(steps)):
        step = steps[position]
        entry = image.history[position]
        keyword, arguments, source = step.keyword, step.arguments, "history"
        if keyword == "RUN":
            if step.shell is not None and step.shell != shell:
                shell = step.shell
                out.append(Instruction("SHELL", json.dumps(list(shell)), None, None, "added"))
            for name, value in step.build_args:
                if args.get(name) != value:
                    args[name] = value
                    out.append(Instruction("ARG", f"{name}={value}", None, None, "added"))
        elif keyword == "ARG":
            name, _, value = arguments.partition("=")
            args[name] = value
        elif keyword == "SHELL":
            listed = go_list(arguments)
            if listed:
                shell = tuple(listed)
        restored = _from_config(keyword, runtime) if last_of.get(keyword) == position else None
        if restored is not None and restored != arguments:
            arguments, source = restored, "config"
        elif keyword in ("ENV", "LABEL"):
            settings = _env_dict(runtime.env) if keyword == "ENV" else runtime.labels
            later = {
                name
                for after in steps[position + 1 :]
                if after.keyword == keyword
                for name in _names_set(after.arguments, settings)
            }
            arguments = _quoted_pairs(arguments, settings, later)
        if not keyword and not arguments:
            arguments = "(empty history entry)"
        out.append(Instruction(keyword, arguments, position, entry.layer_index, source))
    named = {h.layer_index for h in image.history if h.layer_index is not None}
    own_layers = range(base.layer_count if base is not None else 0, len(image.layers))
    out.extend(  # a layer no entry made (a short or empty history) is still there: said, not dropped
        Instruction("", "no history entry says what made this layer", None, i, "added")
        for i in own_layers
        if i not in named
    )
    out.extend(_config_only(runtime, steps))
    return Dockerfile(base, base_steps, tuple(out), image.name, image.notes)


DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's and buildah's default


def _heredoc_run(script: str) -> str:
    """A RUN of several lines (a script, a heredoc of its own) as a Dockerfile heredoc, which runs the lines as
    the shell script they were: joined with backslashes they would be one command, and a heredoc in them would
    never close. The delimiter is one no line of the script is."""
    delimiter = "IMGSCOPE_EOF"
    lines = script.split("\n")
    while delimiter in lines:
        delimiter += "_"
    return "\n".join([f"RUN <<{delimiter}", *lines, delimiter])


_PLAIN_WORD = re.compile(r"[A-Za-z0-9_./:,@%+=-]+")


def _env_value(value: str) -> str:
    """``value`` as an ENV instruction must write it: as it is when plain, else in double quotes with ``"``, ``\\``
    and ``$`` escaped (the config holds the value after expansion; written bare, a space would end it)."""
    if _PLAIN_WORD.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def _words(text: str) -> list[str] | None:
    """``text`` split into words as a Dockerfile's ENV or LABEL reads it (quotes and backslashes taken out);
    None when a quote is not closed."""
    words: list[str] = []
    word: list[str] = []
    quote = ""
    started = False
    chars = iter(text)
    for char in chars:
        if char == "\\" and quote != "'":
            word.append(next(chars, ""))
            started = True
        elif quote:
            if char == quote:
                quote = ""
            else:
                word.append(char)
        elif char in "\"'":
            quote = char
            started = True
        elif char.isspace():
            if started:
                words.append("".join(word))
                word, started = [], False
        else:
            word.append(char)
            started = True
    if quote:
        return None
    if started:
        words.append("".join(word))
    return words


def _env_dict(env: Sequence[str]) -> dict[str, str]:
    return dict(item.partition("=")[::2] for item in env)


def _names_set(arguments: str, settings: Mapping[str, str]) -> set[str]:
    """The settings an ENV or LABEL line sets, as far as its ``NAME=`` words tell."""
    return {token.partition("=")[0] for token in arguments.split() if token.partition("=")[0] in settings}


def _quoted_pairs(arguments: str, settings: Mapping[str, str], later: set[str]) -> str:
    """An ENV or LABEL line from the history as a Dockerfile must write it. buildah records the line as written;
    Docker (classic and BuildKit) records ``NAME=value`` pairs with the values bare, so a value with a space
    (``maintainer=Team <team@example.com>``) would end at it and quotes or backslashes in it (``{"k":"v"}``)
    would be read as quoting. A line that reads as the image's settings (``settings``: the config's variables or
    labels; a value a later line (``later``) sets again may differ) is kept as it is; else it is split again
    at the settings' names, each value quoted where it must be; a line that cannot be split so is kept."""
    words = _words(arguments)
    if words is not None and all(
        "=" in w
        and (name := w.partition("=")[0]) in settings
        and (name in later or settings[name] == w.partition("=")[2])
        for w in words
    ):
        return arguments
    pairs: list[list[str]] = []
    for token in arguments.split(" "):
        name, eq, _ = token.partition("=")
        if eq and name in settings:
            pairs.append([name, token[len(name) + 1 :]])
        elif pairs:
            pairs[-1][1] += " " + token
        else:
            return arguments  # not Docker's pairs (the legacy "ENV NAME value" form): as it is
    return " ".join(f"{name}={_env_value(value)}" for name, value in pairs)


def _config_only(runtime: RuntimeConfig, steps: list[Step]) -> list[Instruction]:
    """Settings the config holds but no history entry made: BuildKit writes no ONBUILD entry, and images from
    tools without a Dockerfile (ko, jib, apko, ``docker commit --change``, squashed builds) have little or no
    history. Each becomes an instruction with source "config", after the history's."""
    written: dict[str, list[str]] = {}
    for step in steps:
        written.setdefault(step.keyword, []).append(step.arguments)
    out: list[Instruction] = []

    def add(keyword: str, arguments: str) -> None:
        out.append(Instruction(keyword, arguments, None, None, "config"))

    for item in runtime.env:
        if "=" not in item or item == f"PATH={DEFAULT_PATH}":
            continue
        name = item.partition("=")[0]
        if not any(re.search(rf"(?:^|\s){re.escape(name)}[= ]", args) for args in written.get("ENV", [])):
            add("ENV", f"{name}={_env_value(item.partition('=')[2])}")
    for name, value in runtime.labels.items():
        if not any(name in args for args in written.get("LABEL", [])):
            add("LABEL", f"{name}={json.dumps(value)}")
    if runtime.exposed_ports and "EXPOSE" not in written:
        add("EXPOSE", " ".join(runtime.exposed_ports))
    if runtime.volumes and "VOLUME" not in written:
        add("VOLUME", json.dumps(list(runtime.volumes)))
    for setting, keyword in ((runtime.workdir, "WORKDIR"), (runtime.user, "USER"), (runtime.stop_signal, "STOPSIGNAL")):
        if setting and keyword not in written:
            add(keyword, setting)
    if runtime.shell and "SHELL" not in written:
        add("SHELL", json.dumps(list(runtime.shell)))
    for trigger in runtime.on_build:
        if trigger not in written.get("ONBUILD", []):
            add("ONBUILD", trigger)
    if runtime.healthcheck is not None and "HEALTHCHECK" not in written:
        text = healthcheck_instruction(runtime.healthcheck)
        if text:
            add("HEALTHCHECK", text)
    for keyword in ("ENTRYPOINT", "CMD"):
        exact = _from_config(keyword, runtime)
        if exact is not None and keyword not in written:
            add(keyword, exact)
    return out


def _from_config(keyword: str, runtime: RuntimeConfig) -> str | None:
    """The config's exact value for the last CMD / ENTRYPOINT / HEALTHCHECK of the history."""
    if keyword in ("CMD", "ENTRYPOINT"):
        value = runtime.cmd if keyword == "CMD" else runtime.entrypoint
        return json.dumps(list(value)) if value else None
    if keyword == "HEALTHCHECK":
        return healthcheck_instruction(runtime.healthcheck) if runtime.healthcheck is not None else None
    return None
