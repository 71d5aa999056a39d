"""A history entry's ``created_by`` read back as a Dockerfile step.

What the builders write in ``history[].created_by`` (observed in public images and in the builders' sources):

* classic ``docker build``: ``/bin/sh -c #(nop)  ENV A=1`` for steps without a layer (two spaces before the
  instruction for most, one for ``COPY``/``ADD``/``WORKDIR``), ``/bin/sh -c #(nop) COPY file:<sha256> in /dst ``
  (the source is a content hash), ``/bin/sh -c apt-get update`` for RUN, ``|2 A=1 B=2 /bin/sh -c make`` for a
  RUN that used build args; CMD/ENTRYPOINT as Go's ``%q`` of a list (``["nginx" "-g" "daemon off;"]``), EXPOSE
  as a Go map (``map[80/tcp:{}]``), HEALTHCHECK as ``%q`` of a struct (``&{["CMD-SHELL" "curl …"] "30s" "3s"
  "0s" '\\x03'}``). Another SHELL shows as its argv: ``/bin/bash -o pipefail -c …``. Recorded
  (samples/truth/docker-20.10): after ``SHELL``, the ``#(nop)`` prefix is the new shell (``/bin/sh -e -c #(nop)
  EXPOSE …``), RUN build args sorted (``|2 FLAVOR=x VERSION=y``), LABEL and ENV with quotes dropped and
  variables expanded.
* BuildKit: the instruction itself, ``RUN /bin/sh -c make # buildkit``, ``RUN |1 V=2 /bin/sh -c … # buildkit``,
  ``COPY . . # buildkit``, ``ENV A=1``, ``EXPOSE map[80/tcp:{}]``, ``CMD ["node" "app.js"]``. Recorded: RUN
  build args in declaration order, COPY/ADD keep their sources, ``SHELL [/bin/sh -e -c]``, ``VOLUME [/data]``,
  ``# buildkit`` only after RUN/COPY/ADD, every entry's comment ``buildkit.dockerfile.v0``, and **no entry at
  all for ONBUILD** (the config has it).
* buildah/podman: the classic form with one space (``/bin/sh -c #(nop) ENV A=1``), CMD as JSON, HEALTHCHECK as
  written in the Containerfile; ``FROM <name>`` in the comment of a build's first entry.
* kaniko: the instruction as written (``RUN npm ci``, ``COPY --from=build /a /b``).

Anything else (``busybox-static rootfs``, ``bazel build …``, an empty entry) is no Dockerfile instruction:
``Step.keyword`` is empty and the text is kept as written.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

KEYWORDS = frozenset(
    [
        "ADD",
        "ARG",
        "CMD",
        "COPY",
        "ENTRYPOINT",
        "ENV",
        "EXPOSE",
        "HEALTHCHECK",
        "LABEL",
        "MAINTAINER",
        "ONBUILD",
        "RUN",
        "SHELL",
        "STOPSIGNAL",
        "USER",
        "VOLUME",
        "WORKDIR",
    ]
)
DEFAULT_SHELL: tuple[str, ...] = ("/bin/sh", "-c")
_NOP = "#(nop)"
_BUILDKIT = "# buildkit"
# A shell argv as the classic builder and buildah write it before the command: "/bin/sh -c", "/bin/bash -o
# pipefail -c", "cmd /S /C", "powershell -Command".
_SHELL = (
    r"(?:/\S*/)?(?:sh|bash|ash|dash|zsh)(?: -[a-zA-Z-]+(?: [a-z]+)?)*? -[a-z]*c"
    r"|cmd /S /C|powershell(?:\.exe)?(?: -\S+)* -Command"
)
_SHELL_RE = re.compile(rf"^(?P<shell>{_SHELL}) ?(?P<rest>.*)$", re.DOTALL)
_SHELL_WORD_RE = re.compile(rf"(?:^|(?<= ))(?:{_SHELL})")  # a shell argv starting at a word
_ARGS_RE = re.compile(r"^\|(?P<n>\d+) ")
_COPY_HASH_RE = re.compile(r"^(?P<flags>(?:--\S+ )*)(?P<src>(?:file|dir|multi):[0-9a-f]{64}) in (?P<dst>.*?)\s*$")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_GO_LIST_RE = re.compile(rf"^\[\s*((?:{_QUOTED}\s*)*)\]$")
_GO_MAP_RE = re.compile(r"^map\[(.*)\]$")
_HEALTH_RE = re.compile(rf"^&\{{\[(?P<test>(?:{_QUOTED}\s*)*)\](?P<rest>.*)\}}$")


@dataclass(frozen=True)
class Step:
    """One ``created_by`` read back: the instruction, its arguments, and what the RUN form carried."""

    keyword: str  # "RUN", "COPY", …; "" when the entry is no Dockerfile instruction
    arguments: str  # for keyword "": the entry as written
    shell: tuple[str, ...] | None = None  # the shell argv a RUN ran with, when the history says
    build_args: tuple[tuple[str, str], ...] = ()  # BuildKit's / classic "|N A=1 …" prefix

    @property
    def text(self) -> str:
        return f"{self.keyword} {self.arguments}".strip() if self.keyword else self.arguments


def parse_created_by(created_by: str) -> Step:
    """Read one history ``created_by`` as a Dockerfile step (see the module docstring for the forms)."""
    text = created_by.strip()
    if text.endswith(_BUILDKIT):
        text = text[: -len(_BUILDKIT)].rstrip()
    if not text:
        return Step("", "")
    head, _, tail = text.partition(" ")
    if head == "RUN":  # BuildKit / kaniko RUN
        inner = _parse_run(tail)
        if inner is not None:
            return inner
        return Step("RUN", tail.strip())
    if head in KEYWORDS:
        return _normalise(head, tail.strip())
    run = _parse_run(text)
    if run is not None:
        return run
    return Step("", text)


def _parse_run(text: str) -> Step | None:
    """``[|N A=1 …] SHELL -c COMMAND`` (or ``SHELL -c #(nop) INSTRUCTION``); None when no shell prefix is found."""
    build_args: list[tuple[str, str]] = []
    match = _ARGS_RE.match(text)
    if match:
        build_args, text = _build_args(text[match.end() :], int(match.group("n")))
    shell_match = _SHELL_RE.match(text)
    if shell_match is None:
        if build_args or text.startswith("["):
            return Step("RUN", text, None, tuple(build_args))
        return None
    shell = tuple(shell_match.group("shell").split(" "))
    command = shell_match.group("rest").strip()
    if command.startswith(_NOP):
        instruction = command[len(_NOP) :].strip()
        head, _, tail = instruction.partition(" ")
        if head in KEYWORDS:
            return _normalise(head, tail.strip())
        return Step("", instruction)
    return Step("RUN", command, shell, tuple(build_args))


_ARG_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")


def _build_args(text: str, count: int) -> tuple[list[tuple[str, str]], str]:
    """The ``count`` ``NAME=value`` pairs that start ``text``, and the rest. The builders join the pairs with
    spaces, unquoted, so a value may hold spaces: a word that starts no new pair belongs to the value before it,
    up to the shell (``|2 A=b c B=d /bin/sh -c …``: A is "b c"). A recorded count larger than the pairs present
    stops at the shell."""
    found = _SHELL_WORD_RE.search(text)
    shell_at = found.start() if found else -1
    args: list[tuple[str, list[str]]] = []
    position = 0
    while position < len(text):
        if position == shell_at and (args or count == 0):
            break
        end = text.find(" ", position)
        end = len(text) if end < 0 else end
        word = text[position:end]
        if len(args) < count and _ARG_NAME_RE.match(word):
            name, _, value = word.partition("=")
            args.append((name, [value]))
        elif args and position < shell_at:
            args[-1][1].append(word)
        else:
            break
        position = min(end + 1, len(text))
    return [(name, " ".join(words)) for name, words in args], text[position:]


def _normalise(keyword: str, args: str) -> Step:
    """Turn the builders' Go-formatted arguments back into Dockerfile syntax."""
    if keyword in ("COPY", "ADD"):
        match = _COPY_HASH_RE.match(args)
        if match:
            args = f"{match.group('flags')}{match.group('src')} {match.group('dst')}"
    elif keyword in ("CMD", "ENTRYPOINT", "SHELL", "VOLUME"):
        listed = go_list(args)
        if listed is not None:
            args = json.dumps(listed)
        elif keyword in ("SHELL", "VOLUME") and args.startswith("[") and args.endswith("]") and '"' not in args:
            args = json.dumps(args[1:-1].split())  # BuildKit: SHELL [/bin/bash -c], VOLUME [/data]
    elif keyword == "EXPOSE":
        match = _GO_MAP_RE.match(args)
        if match:
            args = " ".join(item.removesuffix(":{}") for item in match.group(1).split())
    elif keyword == "HEALTHCHECK":
        args = _healthcheck_from_go(args) or args
    return Step(keyword, args)


def go_list(text: str) -> list[str] | None:
    """``["a" "b"]`` (Go's %q of a slice) or ``["a", "b"]`` (JSON) as a list; None otherwise."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    match = _GO_LIST_RE.match(text.strip())
    if match is None:
        return None
    try:
        return [json.loads(q) for q in re.findall(_QUOTED, match.group(1))]
    except ValueError:
        return None


def _healthcheck_from_go(text: str) -> str | None:
    """``&{["CMD-SHELL" "curl …"] "30s" "3s" "0s" "0s" '\\x03'}`` as ``--interval=30s … CMD curl …``."""
    match = _HEALTH_RE.match(text.strip())
    if match is None:
        return None
    test = [json.loads(q) for q in re.findall(_QUOTED, match.group("test"))]
    rest = match.group("rest")
    durations = [json.loads(q) for q in re.findall(_QUOTED, rest)]
    retries_match = re.search(r"'(\\x[0-9a-f]{2}|\\u[0-9a-f]{4}|[^'\\]|\\[0-7]{1,3}|\\.)'\s*$", rest)
    retries = None
    if retries_match:
        literal = retries_match.group(1)
        try:
            retries = ord(literal.encode().decode("unicode_escape")) if literal.startswith("\\") else ord(literal)
        except (UnicodeDecodeError, TypeError):
            retries = None
    names = ("interval", "timeout", "start-period", "start-interval")
    flags = [f"--{name}={value}" for name, value in zip(names, durations, strict=False) if value not in ("0s", "")]
    if retries:
        flags.append(f"--retries={retries}")
    return " ".join([*flags, _health_test(test)])


def _health_test(test: list[str]) -> str:
    if not test or test[0] == "NONE":
        return "NONE"
    if test[0] == "CMD-SHELL":
        return "CMD " + " ".join(test[1:])
    if test[0] == "CMD":
        return "CMD " + json.dumps(test[1:])
    return "CMD " + json.dumps(test)


def _duration(ns: Any) -> str | None:
    """Go's time.Duration in nanoseconds as a Dockerfile duration (``30s``, ``1m30s``, ``500ms``)."""
    if not isinstance(ns, int) or isinstance(ns, bool) or ns <= 0:
        return None
    if ns % 1_000_000_000:
        return f"{ns // 1_000_000}ms"
    seconds = ns // 1_000_000_000
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return "".join(f"{v}{u}" for v, u in ((hours, "h"), (minutes, "m"), (seconds, "s")) if v) or "0s"


def healthcheck_instruction(config: dict[str, Any]) -> str | None:
    """The HEALTHCHECK arguments the config's ``Healthcheck`` stands for, or None."""
    test = config.get("Test")
    if not isinstance(test, list) or not all(isinstance(t, str) for t in test):
        return None
    flags = []
    for key, name in (
        ("Interval", "interval"),
        ("Timeout", "timeout"),
        ("StartPeriod", "start-period"),
        ("StartInterval", "start-interval"),
    ):
        value = _duration(config.get(key))
        if value:
            flags.append(f"--{name}={value}")
    retries = config.get("Retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries > 0:
        flags.append(f"--retries={retries}")
    return " ".join([*flags, _health_test(test)])
