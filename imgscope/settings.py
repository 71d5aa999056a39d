"""imgscope's settings file: ``[tool.imgscope]`` in ``pyproject.toml``, or ``.imgscope.toml``.

Each command reads its own table: ``[tool.imgscope.check]`` (or ``[check]`` in ``.imgscope.toml``),
``[tool.imgscope.advise]``, and so on. The file is looked for in the given directory and its parents,
stopping at a repository root (a folder holding ``.git``); ``.imgscope.toml`` wins over ``pyproject.toml``
in the same folder.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from imgscope.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SETTINGS_FILE = ".imgscope.toml"
PYPROJECT = "pyproject.toml"


def find_settings(start: str | os.PathLike[str] = ".") -> Path | None:
    """The settings file that applies in ``start``: the nearest ``.imgscope.toml``, or a ``pyproject.toml``
    with a ``[tool.imgscope]`` table; None when there is none."""
    folder = Path(start).resolve()
    for here in (folder, *folder.parents):
        own = here / SETTINGS_FILE
        if own.is_file():
            return own
        pyproject = here / PYPROJECT
        if pyproject.is_file() and "imgscope" in _read(pyproject).get("tool", {}):
            return pyproject
        if (here / ".git").exists():
            break
    return None


def load_settings(path: str | os.PathLike[str] | None = None, *, start: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """The imgscope table of ``path`` (or of the file ``find_settings(start)`` finds); ``{}`` when there is none.

    For ``pyproject.toml`` that is ``[tool.imgscope]``; for any other file its top level.
    """
    file = Path(path) if path is not None else find_settings(start)
    if file is None:
        return {}
    data = _read(file)
    if file.name == PYPROJECT:
        table = data.get("tool", {}).get("imgscope", {})
        if not isinstance(table, dict):
            raise UsageError(str(file), "[tool.imgscope] is not a table")
        return table
    return data


def section(settings: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    """One command's table of the settings (``{}`` when absent); UsageError when it is not a table."""
    value = settings.get(name, {})
    if not isinstance(value, dict):
        raise UsageError(where, f"[{name}] must be a table, not {type(value).__name__}")
    return value


def _read(file: Path) -> dict[str, Any]:
    try:
        with file.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(str(file), f"not valid TOML: {exc}") from None
    except RecursionError:
        raise UsageError(str(file), "not a settings file: nested too deeply") from None
    except OSError as exc:
        raise UsageError(str(file), f"cannot be read: {exc.strerror or exc}") from None
