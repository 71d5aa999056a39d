"""Text from an image, made safe to show: names and commands are the image author's, not ours.

Control characters escaped (``printable``), secret-looking values masked (``redact``), a command cut to one
line (``one_line``). Bottom layer: imports nothing from imgscope."""

from __future__ import annotations

import json
import re
from typing import Any


def printable(text: str) -> str:
    """``text`` with control and other unprintable characters escaped (``\\x1b``, ``\\n``), so it stays one
    harmless line on a terminal or in a message."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def layer_of(index: int, count: int) -> str:
    """``layer 4 of 0-4``: one layer of an image of ``count`` layers, in words. Layers are numbered from 0
    everywhere (the JSON's ``index``, ``--layer N``), and every view names a layer within its image this way."""
    return f"layer {index} of 0-{count - 1}"


def first_layers(count: int) -> str:
    """``layer 0`` or ``layers 0-3``: the bottom ``count`` layers (a base image's), in words."""
    return "layer 0" if count == 1 else f"layers 0-{count - 1}"


# Words that make a variable name look like it holds a secret (API_KEY, NPM_TOKEN, DB_PASSWORD, ...).
SECRET_WORDS = r"(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)"
# From the start of a name only (the look-behind): unanchored, the leading run was tried again at every
# character of a long word, time growing with its square (a 30,000-character RUN line took over a minute).
_SECRET_NAME = rf"(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*{SECRET_WORDS}[A-Za-z0-9_.-]*"
# A value that says where a credential is, not what it is (GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/key.json),
# only when it clearly is a path: an absolute path under a usual top directory, or one from ./, ../ or ~/, made of
# path characters only (ASCII letters, digits, _ . - /). A password may hold a slash or a dot (correct/horse.battery,
# hunter2.txt), base64 a slash, + or =, and $X/abc is the shell's: each is a value, masked and reported. When in
# doubt a value is no path: a leaked secret costs more than a masked path.
_PATH_SHAPE = re.compile(
    r"^(?:/(?:etc|run|var|opt|usr|home|root|tmp|srv|mnt|media|app|apps|data|config|secrets?|keys?|certs?|workspace"
    r"|kaniko|builds?|code|src)(?:/|$)|\.\.?/|~/)[A-Za-z0-9_./-]*$"
)
# A last name that is a token, not a file's: no extension, and upper- and lower-case letters and digits, as a
# generated password or a base62/base64url token has (/data/AbCdEf123). The files credential variables name are
# words: an extension (key.json, Server2024.key, tmp.Xy3kLm9QzA), or letters of one case, digits or not
# (db_password, DB_PASSWORD, id_ed25519, token); a name such as AppSrv01 is taken for a token (masked, reported).
_TOKEN_NAME = re.compile(r"^(?=[^.]*[A-Z])(?=[^.]*[a-z])(?=[^.]*[0-9])[^.]+\Z")


def is_path_value(value: str) -> bool:
    """True when ``value`` clearly is a path, which says where a credential is rather than what it is: absolute under
    a usual top directory (``/var/secrets/key.json``), or from ``./``, ``../`` or ``~/``, of path characters only,
    its last name no token (``/data/AbCdEf123`` is a password). The one rule for ``redact`` and advise's IS202."""
    return _PATH_SHAPE.match(value) is not None and _TOKEN_NAME.match(value.rpartition("/")[2]) is None


def _mask_value(match: re.Match[str]) -> str:
    """``NAME=value`` (the name and ``=`` the groups before the last) masked, unless the value is a path."""
    *head, value = match.groups()
    path = "=" in head[-1] or ":" in head[-1]  # `password /x` (netrc's spelling) is masked whatever it looks like
    return match[0] if path and is_path_value(value.strip("\"'")) else "".join(head) + "***"


_MASKS = (
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.S),
        r"-----BEGIN \1PRIVATE KEY-----***",
    ),
    (re.compile(rf"(?i)({_SECRET_NAME}\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;&|\"'\\]+)"), _mask_value),
    (re.compile(r"(?i)\b(password|passwd|_authToken|_auth)(\s+|\s*=\s*)(?!\*\*\*)([^\s;&|\"'\\]+)"), _mask_value),
    (re.compile(r"(?i)(\"(?:auth|password|identitytoken|registrytoken)\"\s*:\s*)\"[^\"]*\""), r'\1"***"'),
    (re.compile(r"(://[^/:@\s]+:)[^@\s/]+@"), r"\1***@"),
)


def redact(text: str) -> str:
    """``text`` with secret-looking values masked.

    Masked: private key blocks, ``NAME=value`` where NAME looks secret (unless the value is a path: it says where
    a credential is), passwords, credentials in URLs.
    """
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


def setting_text(key: str, value: Any) -> str:
    """A run-time setting's value as a report shows it: ``-`` for none, JSON for a list or an object, and a
    secret-looking value masked as ``redact`` masks ``NAME=value`` (the name: the last dotted part of ``key``,
    ``env.API_TOKEN``, ``labels.db-password``)."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    name = key.rpartition(".")[2]
    masked = redact(f"{name}={text}")
    return masked[len(name) + 1 :] if masked.startswith(f"{name}=") else masked


def one_line(command: str, limit: int | None = None) -> str:
    """A command (or any image text) on one line, for display: secret-looking values masked (``redact``),
    whitespace runs and newlines folded to one space, and cut to ``limit`` characters with "…" when longer.
    Control characters are not escaped: ``printable`` (or rich's ``safe``) does that where it is shown."""
    text = " ".join(redact(command).split())
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 layer``, ``2 layers``, ``1,234 files``: the count with thousands separators and the word to match
    (``many`` for an irregular plural: ``plural(n, "entry", "entries")``)."""
    return f"{count:,} {word if count == 1 else (many or word + 's')}"


def cell_width(text: str) -> int:
    """The terminal cells ``text`` takes, as rich counts them when it draws: a CJK character or an emoji two, a
    combining accent none."""
    from rich.cells import cell_len  # imported where text is drawn, so that --json never imports rich

    return cell_len(text)


def fit_cells(text: str, width: int, *, end: bool = False) -> str:
    """The longest start of ``text`` (``end``: its longest end) that takes at most ``width`` cells, cut between
    graphemes (an emoji, a letter with its accent)."""
    spans, total = _graphemes(text)
    if total <= width:
        return text
    used = 0
    if end:
        start = len(text)
        for first, _, cells in reversed(spans):
            if used + cells > width:
                break
            used, start = used + cells, first
        return text[start:]
    stop = 0
    for _, last, cells in spans:
        if used + cells > width:
            break
        used, stop = used + cells, last
    return text[:stop]


def _graphemes(text: str) -> tuple[list[tuple[int, int, int]], int]:
    """(start, end, cells) of each grapheme of ``text``, and the cells of all, as the installed rich draws them:
    rich 14.3+ by grapheme (``split_graphemes``), an older rich by code point."""
    try:
        from rich.cells import split_graphemes
    except ImportError:  # rich before 14.3 (pyproject allows 13): it draws and counts each code point alone
        return _code_points(text)
    spans, total = split_graphemes(text)
    return list(spans), total


def _code_points(text: str) -> tuple[list[tuple[int, int, int]], int]:
    from rich.cells import cell_len

    spans = [(i, i + 1, cell_len(char)) for i, char in enumerate(text)]
    return spans, sum(cells for _, _, cells in spans)


def middle_ellipsis(text: str, width: int) -> str:
    """``text`` cut in the middle to ``width`` terminal cells (``/usr/lib/…/site-packages/x.py``): the start and
    the end of a path say the most; a path keeps its last component whole when it can."""
    if cell_width(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    tail_start = text.rfind("/")
    keep = width - 1
    if tail_start > 0 and cell_width(text[tail_start:]) <= keep * 2 // 3:
        tail = text[tail_start:]
        return fit_cells(text, keep - cell_width(tail)) + "…" + tail
    head = fit_cells(text, (keep + 1) // 2)
    return head + "…" + fit_cells(text, keep - cell_width(head), end=True)
