"""What every command shares: the ``main`` group, one-line errors, progress, the stdout console, image options."""

from __future__ import annotations

import importlib
import io
import os
import re
import select
import stat
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

import imgscope
from imgscope._gc import collector_paused
from imgscope._heap import own_heap
from imgscope.errors import ImgscopeError, command_line_words
from imgscope.model import Image
from imgscope.sources.local import stream_source
from imgscope.text import layer_of, printable

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

# rich is imported where a console is made (a report, a progress bar), not here: ``analyze --json`` needs none.

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2
#: A reader of stdout that quit early (``| head``): the status a shell gives a program SIGPIPE stopped (128 + 13).
EXIT_PIPE_CLOSED = 141
F = TypeVar("F", bound=Callable[..., Any])


def stdout_console() -> Console:
    """The console for a command's output (plain when ``NO_COLOR`` is set or stdout is not a terminal)."""
    from rich.console import Console

    return Console(no_color=bool(os.environ.get("NO_COLOR")) or None, highlight=False, soft_wrap=False)


def descriptor(stream: object) -> int | None:
    """The stream's file descriptor; None for one without (a test runner's capture) or closed."""
    try:
        return int(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


def _is_tty(stream: object) -> bool:
    fd = descriptor(stream)
    return fd is not None and os.isatty(fd)


def stdout_is_terminal() -> bool:
    """True when stdout is a terminal a person reads. Not rich's ``is_terminal``, which ``FORCE_COLOR`` (set by CI
    systems for their logs) makes True: a file or a pipe keeps its width rules, coloured or not."""
    return _is_tty(sys.stdout)


#: The width of a report written to a file or a pipe when COLUMNS does not say: wide enough that a table row,
#: a finding's sentence or a rule's reason stays one line a log can be searched for (tables keep their natural
#: width; trailing spaces are stripped).
PIPED_WIDTH = 400


def render_text(renderable: RenderableType, *, terminal: bool, width: int | None = None, plain: bool = False) -> str:
    """What ``emit`` writes, as a string: on a terminal as rich renders it; piped, at ``width`` (default: COLUMNS or
    80), each line without its trailing spaces; ``plain``: no escape codes at all (a file written with
    ``--output``), whatever FORCE_COLOR says."""
    console = stdout_console()
    if plain:
        from rich.console import Console

        console = Console(color_system=None, force_terminal=False, highlight=False, soft_wrap=False)
    if not terminal and not os.environ.get("COLUMNS"):
        # rich would take the width of a terminal on stdin or stderr: a file is 80 wide unless the caller says
        console.width = width if width is not None else 80
    with console.capture() as captured:
        console.print(renderable, crop=False)  # a line rendered whole on purpose (a digest) is not cut
    text = captured.get()
    if terminal:
        return text
    return "\n".join(_rstrip(line) for line in text.split("\n"))


_TRAILING = re.compile(r"(?:\s|\x1b\[[0-9;]*m)+$")
_SGR = re.compile(r"\x1b\[[0-9;]*m")


def _rstrip(line: str) -> str:
    """The line without its trailing spaces, also where colour codes (FORCE_COLOR) follow them; the codes kept."""
    end = _TRAILING.search(line)
    return line if end is None else line[: end.start()] + "".join(_SGR.findall(end.group()))


def emit(renderable: RenderableType, *, piped_width: int | None = None) -> None:
    """Print a report to stdout: on a terminal, at its width; to a file or a pipe, at ``piped_width`` (when
    COLUMNS does not say otherwise; None: rich's default 80) with trailing spaces stripped."""
    if stdout_is_terminal():
        stdout_console().print(renderable, crop=False)
        return
    sys.stdout.write(render_text(renderable, terminal=False, width=piped_width))
    sys.stdout.flush()


def fail(message: str) -> None:
    """One line on stderr, exit code 2."""
    click.echo(f"imgscope: error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def stdout_gone() -> bool:
    """True when stdout is a pipe whose reader has gone (``imgscope … | head -1`` once head has its line)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no descriptor (a test's runner), or closed
        return False


def end_quietly() -> NoReturn:
    """Stop as a Unix tool a closed pipe stops: no message, exit status 141. What is left in stdout's buffer goes
    to /dev/null, so the interpreter's last flush cannot complain either."""
    _stdout_to_devnull()
    sys.exit(EXIT_PIPE_CLOSED)


class _Stdout(io.RawIOBase):
    """stdout's descriptor, whose write errors name ``<stdout>``: a full disk under ``> file`` is the output's
    failure, not the image's (an error without a file name is said of the input)."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def isatty(self) -> bool:
        return os.isatty(self._fd)

    def write(self, data: Any) -> int:
        try:
            return os.write(self._fd, data)
        except OSError as exc:
            raise type(exc)(exc.errno, exc.strerror, "<stdout>") from None


def name_stdout() -> None:
    """Make ``sys.stdout`` write through ``_Stdout`` (same descriptor, encoding and buffering). Not when stdout is
    no descriptor (a test runner's capture) or is one already."""
    out = sys.stdout
    if not isinstance(out, io.TextIOWrapper) or isinstance(getattr(out.buffer, "raw", None), _Stdout):
        return
    try:
        fd = out.fileno()
    except (OSError, ValueError):
        return
    out.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(_Stdout(fd)), encoding=out.encoding, errors=out.errors, line_buffering=out.line_buffering
    )


def _stdout_to_devnull() -> None:
    """stdout's descriptor made /dev/null's: whatever its buffer still holds goes nowhere, without an error."""
    with suppress(AttributeError, OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


@contextmanager
def errors(debug: bool) -> Iterator[None]:
    """Turn every failure into one line on stderr and exit code 2 (a traceback only with --debug)."""
    ctx = click.get_current_context(silent=True)
    path = str(ctx.params.get("path") or "input") if ctx is not None else "input"
    try:
        yield
    except ImgscopeError as exc:
        if debug:
            traceback.print_exc()
        fail(printable(str(exc)))
    except OSError as exc:
        if isinstance(exc, BrokenPipeError) and stdout_gone():
            end_quietly()
        if exc.filename == "<stdout>":
            _stdout_to_devnull()  # what stdout's buffer still holds is lost: the interpreter's last flush is quiet
        if debug:
            traceback.print_exc()
        fail(printable(f"{exc.filename or path}: {exc.strerror or exc}"))
    except (MemoryError, RecursionError) as exc:
        if debug:
            traceback.print_exc()
        fail(printable(f"{path}: input too large or nested too deeply ({type(exc).__name__})"))
    except Exception as exc:  # a bug of ours: still one line, and a way to see more
        if debug:
            traceback.print_exc()
        fail(printable(f"{path}: internal error ({type(exc).__name__}: {exc}); rerun with --debug and report it"))


def rereadable(path: str) -> bool:
    """False for a source that can be read only once (stdin, a FIFO, an engine's stream): nothing may look at it
    before the analysis does."""
    src = stream_source(path)
    return src is None or (src.kind == "path" and os.path.isfile(src.value))


def stderr_is_interactive() -> bool:
    """True when stderr is a terminal a person watches: FORCE_COLOR and the like (set by CI systems for their
    logs) do not make a file or a pipe one, so no progress bar is written into a log."""
    return _is_tty(sys.stderr)


@contextmanager
def progress(
    path: str | Image | None = None, image: str | None = None, platform: str | None = None
) -> Iterator[Callable[[int, int, int], None] | None]:
    """A progress bar on stderr, only when stderr is an interactive terminal. It counts the stored bytes of the
    layer blobs read (sizes from the image's metadata when ``path`` opens; else layers), so one large layer moves;
    for a stream (stdin, a FIFO, a compressed save, an engine), whose layers are known only at its end, the bytes of
    the stream read (out of its size when it is a file)."""
    if not stderr_is_interactive():
        yield None
        return
    if isinstance(path, str) and not rereadable(path):
        with _stream_progress(path) as update:
            yield update
        return
    sizes: list[int] = []
    if path is not None and (isinstance(path, Image) or rereadable(path)):
        try:  # metadata only; any problem is reported by the analysis itself
            opened = path if isinstance(path, Image) else imgscope.open_image(path, image=image, platform=platform)
            layers = opened.layers
            sizes = [layer.size or 0 for layer in layers] if all(layer.size for layer in layers) else []
        except Exception:
            sizes = []
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True, force_terminal=True)
    columns = [TextColumn("reading {task.fields[layer]}"), BarColumn()]
    columns += [DownloadColumn()] if sizes else []
    with (
        Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar,
        collector_paused(own_process=True),  # the bar's thread would keep analyze from pausing the collector
    ):
        task = bar.add_task("layers", total=sum(sizes) if sizes else None, layer="layers")

        def update(index: int, count: int, done: int) -> None:
            if count == 0:  # a stream's bytes (the layers not known yet): this bar counts layers
                return
            layer = layer_of(min(index, count - 1), count)
            if sizes and len(sizes) == count:
                bar.update(task, completed=sum(sizes[:index]) + min(done, sizes[index] if index < count else 0))
                bar.update(task, layer=layer)
            else:
                bar.update(task, total=count, completed=index, layer=layer)

        yield update


def _stream_size(path: str) -> int | None:
    """The bytes a stream source will deliver, when it is a file (a compressed save, stdin redirected from a
    file); None for a pipe, a FIFO or an engine."""
    src = stream_source(path)
    try:
        if src is not None and src.kind == "stdin":
            fd = sys.stdin.fileno()
            info = os.fstat(fd)
            return info.st_size - os.lseek(fd, 0, os.SEEK_CUR) if stat.S_ISREG(info.st_mode) else None
        if src is not None and src.kind == "path" and os.path.isfile(src.value):
            return os.path.getsize(src.value)
    except (AttributeError, OSError, ValueError):
        pass
    return None


@contextmanager
def _stream_progress(path: str) -> Iterator[Callable[[int, int, int], None]]:
    """The bar for a stream source: the bytes of the stream read (``analysis.scan.Progress``: count 0)."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    total = _stream_size(path)
    err = Console(stderr=True, force_terminal=True)
    columns = [TextColumn("reading {task.fields[what]}"), BarColumn(), DownloadColumn(), TimeElapsedColumn()]
    with (
        Progress(*columns, console=err, transient=True) as bar,
        collector_paused(own_process=True),
    ):
        task = bar.add_task("stream", total=total, what=printable(path))

        def update(index: int, count: int, done: int) -> None:
            if count == 0:
                bar.update(task, completed=done)

        yield update


def no_verify_option(f: F) -> F:
    """``--no-verify``, for every command that reads the layers."""
    return click.option("--no-verify", is_flag=True, help="Skip checking layers against their digests.")(f)


def jobs_option(f: F) -> F:
    """``--jobs N``: processes that scan layers, this one and N - 1 workers (default: the cores available; 1: this
    process only)."""
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1, 256),
        default=None,
        metavar="N",
        help="Processes scanning layers: this one and N-1 workers [default: the cores available; 1: no worker].",
    )(f)


def image_options(f: F) -> F:
    """``--image`` and ``--platform``, for every command that reads one image; and the source options
    (``--source``, ``--insecure``, ``--cache-dir``, ``--no-cache``: ``cli/_source.py``)."""
    from imgscope.cli._source import source_options

    f = source_options(f)
    f = click.option("--platform", metavar="OS/ARCH[/VARIANT]", help="Pick one platform of an image index.")(f)
    f = click.option("--image", "image_ref", metavar="NAME:TAG|DIGEST", help="Pick one image of several in the input.")(
        f
    )
    return f


class _NeverRaised(click.exceptions.UsageError):
    pass


#: click 8.2+ raises this usage error for a group run without a command: its message is the whole help (8.1
#: prints the help and exits)
_NO_ARGS_IS_HELP: type[click.exceptions.UsageError] = getattr(click.exceptions, "NoArgsIsHelpError", _NeverRaised)


#: The flag of each library parameter the library's messages may name (``errors.option``).
FLAGS = {
    "image": "--image",
    "platform": "--platform",
    "source": "--source",
    "insecure": "--insecure",
    "fmt": "--format",
    "registry_catalog": "--registry-catalog",
    "baseline": "--baseline",
    "baseline_optional": "--baseline-optional",
    "engine": "--engine",  # imgscope.fleet.batch's
    "address": "--scheduler",  # imgscope.fleet.batch's: the Dask scheduler or Ray cluster (--address too)
}


class _Main(click.Group):
    """The ``imgscope`` group: each command's module is imported when that command is run (or listed, for
    ``--help``), so a command pays only for its own imports; a reader of stdout that quits early ends any command
    quietly (``end_quietly``), where click would exit 1, imgscope's "check failed"; a failure outside a command's
    ``errors`` block (while it renders) is still one line and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: command name -> the module that defines it, imported when the command is looked up (``cli/__init__.py``)
        self.lazy_commands: dict[str, str] = {}

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's ``main``, with a usage error as one line, as every other error (click prints the usage, a hint
        and the error over four lines). ``standalone_mode=False`` is click's own: exceptions to the caller."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NO_ARGS_IS_HELP as exc:  # a bare "imgscope": the help, as click shows it
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.UsageError as exc:
            if exc.ctx is not None:
                where = " ".join(["imgscope", *exc.ctx.command_path.split()[1:]])
            else:  # click's parser raises some errors without a context (an option missing its value)
                given = list(args) if args is not None else sys.argv[1:]
                names = set(self.commands) | set(self.lazy_commands)
                where = " ".join(["imgscope", *[a for a in given if a in names][:1]])
            one_line = " ".join(exc.format_message().split())
            click.echo(f"imgscope: error: {printable(one_line)} (see {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = self.lazy_commands.get(cmd_name)
        if module is not None and cmd_name not in self.commands:
            importlib.import_module(module)  # its decorators add the command to this group
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with command_line_words(FLAGS):  # the library's messages name these flags, not its parameters
                result = super().invoke(ctx)
            sys.stdout.flush()
        except BrokenPipeError:
            if stdout_gone():
                end_quietly()
            raise
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except Exception:
            with errors(bool((ctx.obj or {}).get("debug"))):
                raise
        return result


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(imgscope.__version__, prog_name="imgscope")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Analyze container images: layers, wasted bytes, efficiency.

    Reads docker save tarballs (also compressed, or on stdin as -), OCI layouts
    and archives, skopeo dir: copies, registries (docker://), and the Docker
    and Podman engines (docker-daemon:, podman:); docs/sources.md. Exit codes:
    0 ok, 1 a check failed, 2 bad input or usage.
    """
    ctx.obj = {"debug": debug}
    name_stdout()
    own_heap()  # the process is the command line's: large blocks given back when freed (_heap)
