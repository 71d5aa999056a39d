"""``imgscope report``: the self-contained HTML report; ``write_output``, which ``--html``/``--ncdu`` share."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable

import click

from imgscope.advise import AdviseSettings, advice
from imgscope.cli._common import descriptor, errors, image_options, main, no_verify_option, progress
from imgscope.cli._source import image_arg
from imgscope.packages import scan_packages
from imgscope.render.html import report_html


def write_output(path: str, pieces: Iterable[str]) -> None:
    """Write ``pieces`` to ``path`` (``-``: stdout), UTF-8, as a shell's ``>`` would, but a regular file appears
    whole or not at all: it is written beside and renamed into place, keeping an existing file's mode (a new one
    gets the umask's). A symbolic link is written through (the link stays); what is no regular file (a FIFO, a
    device) is written to as it is, never replaced; ``/dev/stdout``, ``/dev/fd/N`` and ``/proc/self/fd/N`` are the
    process's own descriptor, written to as ``-`` is (a pipe has no path to open, a file opened with ``>>`` is
    appended to)."""
    fd = _descriptor_of(path)
    if path == "-" or (fd is not None and fd == descriptor(sys.stdout)):
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
        return
    if fd is not None:
        try:
            with open(os.dup(fd), "w", encoding="utf-8", newline="\n") as stream:
                for piece in pieces:
                    stream.write(piece)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, path) from None
        return
    try:
        target = os.path.realpath(path) if os.path.islink(path) else path
        if path.endswith(os.sep) or os.path.isdir(target):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        try:
            st: os.stat_result | None = os.stat(target)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(target, "w", encoding="utf-8", newline="\n") as stream:
                for piece in pieces:
                    stream.write(piece)
            return
        out_fd, tmp = tempfile.mkstemp(prefix=".imgscope-", dir=os.path.dirname(os.path.abspath(target)))
    except OSError as exc:  # named after the file the user gave, not the temporary one or the link's target
        if isinstance(exc, BrokenPipeError):
            raise
        raise OSError(exc.errno, exc.strerror, path) from None
    try:
        with os.fdopen(out_fd, "w", encoding="utf-8", newline="\n") as out:
            for piece in pieces:
                out.write(piece)
        if st is not None:
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            with contextlib.suppress(OSError):  # a file of another owner keeps its owner where we may say so
                os.chown(tmp, st.st_uid, st.st_gid)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException as exc:
        os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise OSError(exc.errno, exc.strerror, path) from None
        raise


_DESCRIPTOR = re.compile(r"/dev/(?:std(?P<std>in|out|err)|fd/(?P<fd>\d+))|/proc/(?:self|\d+)/fd/(?P<proc>\d+)")


def _descriptor_of(path: str) -> int | None:
    """The descriptor number a path of the process's own descriptors names (``/dev/stdout``: 1); None for any
    other path."""
    found = _DESCRIPTOR.fullmatch(path)
    if found is None or (found["proc"] and not path.startswith(("/proc/self/", f"/proc/{os.getpid()}/"))):
        return None
    if found["std"]:
        return ("in", "out", "err").index(found["std"])
    return int(found["fd"] or found["proc"])


@main.command()
@click.argument("path", type=click.Path())
@image_options
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="The HTML file to write ('-': stdout).",
)
@no_verify_option
@click.pass_context
def report(
    ctx: click.Context, path: str, image_ref: str | None, platform: str | None, output: str, no_verify: bool
) -> None:
    """Write the HTML report of the image at PATH: one self-contained file, no network needed to view it.

    A zoomable treemap of the final filesystem coloured by layer, a bar per layer (click it for
    its changes), the wasted files and why, the largest files, advise's findings, the packages
    and their bytes, dive's figures.
    """
    with errors(ctx.obj["debug"]):
        source = image_arg(path, image=image_ref, platform=platform)
    with errors(ctx.obj["debug"]), progress(source, image_ref, platform) as report_progress:
        scanned = scan_packages(  # analyze's one pass, the package databases kept on the way
            source, image=image_ref, platform=platform, verify=not no_verify, top=100, progress=report_progress
        )
        result = scanned.analysis
        savings = advice(result, AdviseSettings.load())
        write_output(output, [report_html(result, savings, scanned.report())])
