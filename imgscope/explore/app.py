"""The Textual app: dive's panes and keys, and the lenses dive lacks. It reads an ``Analysis`` (two with
``--against``) and nothing else; every figure comes from ``imgscope.explore.model`` or the library."""

from __future__ import annotations

import time
from bisect import bisect_right
from collections.abc import Callable, Sequence
from contextlib import suppress
from threading import Lock
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Region, Size
from textual.screen import ModalScreen
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static

from imgscope._gc import freeze_survivors
from imgscope.advise import Finding, advise
from imgscope.analysis.result import Analysis
from imgscope.dive.golang import humanize_bytes as human  # dive prints sizes with go-humanize
from imgscope.errors import ImgscopeError
from imgscope.explore.keys import KEYS, ExploreSettings
from imgscope.explore.model import (
    DiffKind,
    Filter,
    LayerView,
    Mode,
    Row,
    Timeline,
    TreeRows,
    ViewKey,
    ViewNode,
    ViewTree,
    WasteLens,
    WasteRow,
    build_view,
    compare_images,
    content_layer,
    parse_filter,
    path_history,
    waste_lens,
)
from imgscope.model import EntryType
from imgscope.sources.member import MemberContent, read_member
from imgscope.text import printable
from imgscope.units import format_percent

# dive's colours (dive/filetree/file_node.go diffTypeColor): added green, removed red, modified yellow.
FILTER_DELAY = 0.15  # seconds without a keystroke before the filter line is applied
BUILDING_AFTER = 0.1  # seconds after which a tree not yet shown says it is being built
KIND_STYLE = {DiffKind.ADDED: "green", DiffKind.REMOVED: "red", DiffKind.MODIFIED: "yellow", DiffKind.UNMODIFIED: ""}


_KEY_NAMES = {"space": "Space", "slash": "/", "question_mark": "?", "escape": "Esc", "tab": "Tab"}


def key_label(keys: str) -> str:
    """dive's hint: the first key of a binding, ``ctrl+f`` as ``^F``."""
    first = keys.split(",")[0].strip()
    if first.startswith("ctrl+"):
        rest = first[5:]
        return "^" + _KEY_NAMES.get(rest, rest.upper() if len(rest) == 1 else rest)
    return _KEY_NAMES.get(first, first)


def mode_string(node: ViewNode) -> str:
    """dive's ``MetadataString`` permission column: ``drwxr-xr-x``; ``?`` where the analysis does not know (a
    view made from trees that do not carry it)."""
    flag = "d" if node.type is EntryType.DIR else "-"
    m = node.mode
    if m is None:
        return flag + "?????????"

    def bit(on: bool, c: str) -> str:
        return c if on else "-"

    def ex(on: bool, special: bool, lower: str, upper: str) -> str:
        if special:
            return lower if on else upper
        return "x" if on else "-"

    return (
        flag
        + bit(bool(m & 0o400), "r")
        + bit(bool(m & 0o200), "w")
        + ex(bool(m & 0o100), bool(m & 0o4000), "s", "S")
        + bit(bool(m & 0o040), "r")
        + bit(bool(m & 0o020), "w")
        + ex(bool(m & 0o010), bool(m & 0o2000), "s", "S")
        + bit(bool(m & 0o004), "r")
        + bit(bool(m & 0o002), "w")
        + ex(bool(m & 0o001), bool(m & 0o1000), "t", "T")
    )


def _bindings(where: str) -> list[BindingType]:
    out: list[BindingType] = []
    for key in KEYS:
        if key.where != where:
            continue
        action = key.id.replace("-", "_")
        priority = key.id == "toggle-view"  # before the focus chain's own Tab
        out.append(Binding(key.keys, action, key.help, show=False, id=key.id, priority=priority))
    return out


# -- a pane of lines with a cursor (the layers and the file tree) ---------------------------------------------------


_PLAIN = Style()


class LinePane(ScrollView, can_focus=True):
    """Lines drawn on demand (only the visible ones), a cursor row, mouse clicks select."""

    DEFAULT_CSS = """
    LinePane { height: 1fr; }
    """
    cursor = 0
    cursor_from = 0  # the cursor's highlight starts at this column
    cursor_unfocused = True  # show where the cursor is when another pane has the focus
    show_cursor = True  # False: no cursor row is drawn (a text to read)

    def line_count(self) -> int:
        raise NotImplementedError

    def line_text(self, index: int) -> Text:
        raise NotImplementedError

    def line_width(self) -> int:
        return self.size.width

    # A line (the cursor's unit) is one screen row, unless a pane folds long lines over several (the tree's wrap).
    def screen_rows(self) -> int:
        """Screen rows the lines take."""
        return self.line_count()

    def screen_row_of(self, index: int) -> tuple[int, int]:
        """The first screen row of line ``index`` and how many it takes."""
        return index, 1

    def line_at(self, row: int) -> tuple[int, int]:
        """The line shown on screen row ``row``, and which of its screen rows that is."""
        return row, 0

    def update_size(self) -> None:
        size = Size(max(self.line_width(), 1), self.screen_rows())
        if size != self.virtual_size and self.is_mounted and self.container_size:
            # The pane's own size does not follow its lines (its height and width are the layout's): only its
            # scrollbars do. Setting ``virtual_size`` would lay the whole screen out again, and the scrollbars
            # after it, over three frames; a scrollbar that shows or hides still asks for that layout.
            self.set_reactive(ScrollView.virtual_size, size)
            self._scroll_update(size)
        elif size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y + scroll_y >= self.screen_rows():
            return Strip.blank(width, self.rich_style)
        index, part = self.line_at(y + scroll_y)
        text = self.line_part(index, part, width)
        if index == self.cursor and self.show_cursor and (self.has_focus or self.cursor_unfocused):
            text.stylize("reverse bold" if self.has_focus else "reverse", self.cursor_from if part == 0 else 0)
        # a style on every segment, an empty one where the text has none: Textual's filters (NO_COLOR's
        # monochrome) read each segment's style
        segments = [Segment(t, _PLAIN if s is None else s, c) for t, s, c in text.render(self.app.console)]
        return Strip(segments, text.cell_len).crop_extend(scroll_x, scroll_x + width, self.rich_style)

    def line_part(self, index: int, part: int, width: int) -> Text:
        """Screen row ``part`` of line ``index`` at ``width`` cells (the whole line: it scrolls sideways)."""
        return self.line_text(index)

    def set_cursor(self, index: int) -> None:
        count = self.line_count()
        index = max(0, min(index, count - 1)) if count else 0
        old = self.cursor
        self.cursor = index
        if old != index:
            self.moved()
        self.refresh()
        if count:
            first, height = self.screen_row_of(index)
            self.scroll_to_region(Region(0, first, 1, height), animate=False, force=True)

    def moved(self) -> None:
        """The cursor moved to another line."""

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = offset.y + self.scroll_offset.y
        if row < self.screen_rows():
            index = self.line_at(row)[0]
            self.set_cursor(index)
            self.clicked(index, event.chain >= 2)

    def clicked(self, index: int, double: bool) -> None:
        """A click on line ``index`` (``double``: the second of a double click)."""

    def action_up(self) -> None:
        self.set_cursor(self.cursor - 1)

    def action_down(self) -> None:
        self.set_cursor(self.cursor + 1)

    def action_page_up(self) -> None:
        self.set_cursor(self.cursor - max(1, self.size.height - 1))

    def action_page_down(self) -> None:
        self.set_cursor(self.cursor + max(1, self.size.height - 1))


class TextLines(LinePane):
    """Lines made on demand by ``make(index)``: a long list (dive's inefficiencies, the wasted copies) costs
    only the lines on the screen."""

    cursor_unfocused = False

    def __init__(self, count: int, make: Callable[[int], Text], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.count = count
        self.make = make
        self.width_needed = max((make(i).cell_len for i in range(min(count, 200))), default=1)
        # the size the first layout needs, set before the mount (not a second layout after it)
        self.set_reactive(ScrollView.virtual_size, Size(max(self.width_needed, 1), count))

    def line_count(self) -> int:
        return self.count

    def line_text(self, index: int) -> Text:
        return self.make(index)

    def line_width(self) -> int:
        return max(self.width_needed, self.size.width)


class ScrollLines(TextLines):
    """Lines to read, without a cursor: the keys scroll them."""

    show_cursor = False

    def action_up(self) -> None:
        self.scroll_relative(y=-1, animate=False)

    def action_down(self) -> None:
        self.scroll_relative(y=1, animate=False)

    def action_page_up(self) -> None:
        self.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        self.scroll_page_down(animate=False)


class LayersPane(LinePane):
    """dive's layer list: compare bar, size, command; the cursor is the selected layer."""

    BINDINGS: ClassVar[list[BindingType]] = _bindings("layers")
    cursor_from = 3  # the compare bar keeps its colour

    def __init__(self, analysis: Analysis, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.analysis = analysis
        self.view_key: ViewKey | None = None

    def line_count(self) -> int:
        return len(self.analysis.layers)

    def line_width(self) -> int:
        return max((len(r.command) + 16 for r in self.analysis.layers), default=1)

    def line_text(self, index: int) -> Text:
        report = self.analysis.layers[index]
        bar = Text("  ")
        key = self.view_key
        if key is not None and key.mode is not Mode.IMAGES:
            if key.base is not None and (
                (key.mode is Mode.AGGREGATED and index == key.base)
                or (key.mode is Mode.LAYER and index <= key.base)
                or (key.mode is Mode.LAYERS and index <= key.base)
            ):
                bar = Text("  ", style="on green")
            if index == key.top or (
                key.base is not None and key.mode is not Mode.LAYER and key.base < index <= key.top
            ):
                bar = Text("  ", style="on magenta")
        command = report.command or ("FROM " + (report.digest or "")[7:19] if index == 0 else "")
        line = Text.assemble(bar, " ", f"{human(report.size):>7}  ", printable(" ".join(command.split())))
        return line

    def moved(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.layer_selected(self.cursor, moved=True)

    def action_compare_layer(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.set_mode(Mode.LAYER)

    def action_compare_all(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.set_mode(Mode.AGGREGATED)

    def action_compare_mark(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.mark_compare(self.cursor)


class OpenDirs:
    """The directories open in the tree: those in ``paths``; after "open all" (``every``), every directory but
    those in ``closed`` (no list of every directory to make: 0.15 s of the key press on 160,000 paths)."""

    def __init__(self) -> None:
        self.paths: set[str] = set()
        self.every = False
        self.closed: set[str] = set()

    def __contains__(self, path: object) -> bool:
        return path in self.paths or (self.every and path not in self.closed)

    def __bool__(self) -> bool:
        return self.every or bool(self.paths)

    def add(self, path: str) -> None:
        self.paths.add(path)
        self.closed.discard(path)

    def discard(self, path: str) -> None:
        self.paths.discard(path)
        if self.every:
            self.closed.add(path)

    def clear(self) -> None:
        self.paths.clear()
        self.closed.clear()
        self.every = False

    def open_all(self) -> None:
        self.clear()
        self.every = True


#: lines counted in the key press; a tree with more is counted on in a worker (its first screen is shown first)
COUNT_IN_KEY = 20000
#: Enter applies a regular expression in the key press to a view of up to ``MATCH_HERE`` paths (a worker does
#: for more), when it matches up to ``SHOW_HERE`` of them
MATCH_HERE = 400_000
SHOW_HERE = 50_000


#: dive's attribute columns (permissions, UID:GID, size) take 35 cells; without UID:GID, 22. The pane shows the
#: three while NAME_ROOM cells are left for the tree and the names, else the two: dive shows three, which at 80
#: columns leave three cells of its 38-cell pane for the names; here the pane is 46 cells there, 22 of them names.
FULL_ATTRIBUTES, COMPACT_ATTRIBUTES, NAME_ROOM = 35, 22, 20


class FileTreePane(LinePane):
    """dive's file tree: permission, uid:gid, size, then the tree, coloured by kind; built lazily."""

    BINDINGS: ClassVar[list[BindingType]] = _bindings("tree")

    def __init__(self, settings: ExploreSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vtree: ViewTree | None = None
        self.rows: Sequence[Row] = []
        self.lines = 0  # the lines counted so far (all of them once ``rows`` is complete)
        self.expanded = OpenDirs()  # directories open (the root always)
        self.sort = settings.sort
        self.attributes = settings.attributes
        self.hidden_kinds: set[DiffKind] = {DiffKind(h) for h in settings.hide}
        self.path_filter: Filter | None = None
        self.shown: set[str] | None = None
        self.wrap = False
        self._starts: list[int] | None = None  # with wrap: the first screen row of each row, the total last
        self.tree_width = 1  # the widest row's cells, without the attribute columns
        self.compact = False  # a pane too narrow for dive's three attribute columns shows two (no UID:GID)

    # state -> rows
    def set_view(self, view: ViewTree | None, shown: set[str] | None, keep: str | None = None) -> None:
        """Show ``view``, of which the paths ``shown`` (None: all) pass the filter and the hidden kinds."""
        self.vtree = view
        self.shown = shown
        self.rebuild(keep)

    def _recompute_visible(self) -> None:
        self.shown = None if self.vtree is None else self.vtree.visible(self.path_filter, frozenset(self.hidden_kinds))

    def rebuild(self, keep: str | None = None) -> None:
        """The rows from the expanded directories; the cursor stays on ``keep`` (a path) when it is shown. The
        rows are counted, and made only as they are read (``TreeRows``: the lines on the screen). A large tree
        is counted as far as the screen needs, and on in a worker (``_count_all``): its scrollbar follows."""
        if keep is None and 0 <= self.cursor < self.lines:
            keep = self.rows[self.cursor].node.path
        rows: Sequence[Row] = []
        view = self.vtree
        index = 0
        lines = 0
        if view is not None:
            # Under a filter every directory with a match below it is open: the matches are what one looks for.
            filtered = self.path_filter is not None and self.path_filter.active
            opened = self.expanded
            previous = self.rows if isinstance(self.rows, TreeRows) else None
            rows = TreeRows(
                view,
                self.sort,
                self.shown,
                opened.paths,
                filtered or opened.every,
                closed=opened.closed if opened.every and not filtered else frozenset(),
                previous=previous,
                lazy=True,
            )
            found = rows.index_of(keep) if keep is not None else None
            index = found if found is not None else max(0, rows.at_least(self.cursor + 1) - 1)
            lines = rows.at_least(max(COUNT_IN_KEY, index + 2 * max(self.size.height, 1) + 2))
            if rows.complete or self.wrap:
                lines = len(rows)
                self.tree_width = rows.width
                if not rows.counted:
                    # known, not counted (every directory open): the rows below each directory, counted in the
                    # worker, so that reading lines further down counts nothing (the screen does not change)
                    self.call_after_refresh(self._count_directories, rows)
            else:
                self.call_after_refresh(self._count_all, rows)  # the first screen drawn first, then the rest
        self.rows = rows
        self.lines = lines
        if not lines:
            self.tree_width = 1
        self.cursor = index
        if self.wrap:
            self._fold()
        else:
            self.update_size()
        if lines:
            first, height = self.screen_row_of(self.cursor)
            self.scroll_to_region(Region(0, first, 1, height), animate=False, force=True)

    @work(thread=True, exclusive=True, group="count")
    def _count_all(self, rows: TreeRows) -> None:
        if rows is self.rows:
            rows.count_all()
            with suppress(RuntimeError):  # the app closed meanwhile: nothing to show it on
                self.app.call_from_thread(self._counted, rows)

    @work(thread=True, exclusive=True, group="count")
    def _count_directories(self, rows: TreeRows) -> None:
        if rows is self.rows:
            rows.count_directories()

    def _counted(self, rows: TreeRows) -> None:
        """Every line of ``rows`` counted: the scrollbar and the width follow (unless other rows replaced them)."""
        if rows is self.rows:
            self.lines = len(rows)
            self.tree_width = rows.width
            self.update_size()

    def set_cursor(self, index: int) -> None:
        rows = self.rows
        if isinstance(rows, TreeRows) and not rows.complete and index >= self.lines - self.size.height:
            # beyond what is counted yet: count as far as the screen there needs
            self.lines = rows.at_least(index + 2 * max(self.size.height, 1) + 2)
            self.update_size()
        super().set_cursor(index)

    def line_count(self) -> int:
        return self.lines

    def line_width(self) -> int:
        return self.fold_width() if self.wrap else self.attributes_width() + self.tree_width

    def line_text(self, index: int) -> Text:
        row = self.rows[index]
        node = row.node
        style = KIND_STYLE[node.kind]
        text = Text()
        if self.attributes:
            text.append(self._attributes(node), style=style)
        opened = node.is_dir and (
            node.path in self.expanded or (self.path_filter is not None and self.path_filter.active)
        )
        marker = "⊕ " if node.is_dir and not opened else "─ "
        text.append(row.prefix + ("└─" if row.last else "├─") + marker)
        name = printable(node.name)
        if node.link_target:
            name += " → " + printable(node.link_target)
        text.append(name, style=style)
        return text

    def _attributes(self, node: ViewNode) -> str:
        """dive's attribute columns: permissions, uid:gid, size (without uid:gid when ``compact``)."""
        if self.compact:
            return f"{mode_string(node)} {human(node.size):>10} "
        owner = "?:?" if node.uid is None else f"{node.uid}:{node.gid}"
        return f"{mode_string(node)} {owner:>11} {human(node.size):>10} "

    def attributes_width(self) -> int:
        """The cells the attribute columns take on a row (an owner longer than 11 cells takes more)."""
        if not self.attributes:
            return 0
        return COMPACT_ATTRIBUTES if self.compact else FULL_ATTRIBUTES

    def current(self) -> ViewNode | None:
        if 0 <= self.cursor < self.lines:
            return self.rows[self.cursor].node
        return None

    def clicked(self, index: int, double: bool) -> None:
        if double:  # a double click opens or collapses a directory
            self.action_toggle_collapse_dir()

    def reveal(self, path: str) -> bool:
        """Open the directories down to ``path`` and put the cursor on it; False when the view has no such row."""
        if self.vtree is None or self.vtree.find(path) is None:
            return False
        parts = [p for p in path.split("/") if p]
        for i in range(1, len(parts)):
            self.expanded.add("/" + "/".join(parts[:i]))
        if self.shown is not None and path not in self.shown:
            self.path_filter = None
            self.hidden_kinds.clear()
            self._recompute_visible()
            self.app_filter_cleared()
        self.rebuild(keep=path)
        return self.current() is not None and self.current().path == path  # type: ignore[union-attr]

    def app_filter_cleared(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.filter_cleared()

    # dive's tree actions
    def action_toggle_collapse_dir(self) -> None:
        node = self.current()
        if node is None or not node.is_dir:
            return
        if node.path in self.expanded:
            self.expanded.discard(node.path)
        else:
            self.expanded.add(node.path)
        self.rebuild(keep=node.path)

    def action_toggle_collapse_all_dir(self) -> None:
        node = self.current()
        if self.expanded:
            self.expanded.clear()
            keep = None if node is None else "/" + (node.path.split("/")[1] if node.path != "/" else "")
        else:
            if self.vtree is not None:
                self.expanded.open_all()
            keep = node.path if node is not None else None
        self.rebuild(keep=keep)

    def action_toggle_sort_order(self) -> None:
        self.sort = "name" if self.sort == "size" else "size"
        self.rebuild()
        self.notify_app()

    def action_toggle_filetree_attributes(self) -> None:
        self.attributes = not self.attributes
        self.rebuild()
        self.notify_app()

    def _toggle(self, kind: DiffKind) -> None:
        self.hidden_kinds.symmetric_difference_update({kind})
        app = self.app
        if isinstance(app, ExploreApp):
            app.refilter()
        self.notify_app()

    def action_toggle_added_files(self) -> None:
        self._toggle(DiffKind.ADDED)

    def action_toggle_removed_files(self) -> None:
        self._toggle(DiffKind.REMOVED)

    def action_toggle_modified_files(self) -> None:
        self._toggle(DiffKind.MODIFIED)

    def action_toggle_unmodified_files(self) -> None:
        self._toggle(DiffKind.UNMODIFIED)

    def action_toggle_wrap_tree(self) -> None:
        # Long lines scroll sideways (shift+wheel, or the scrollbar); wrap folds them over as many screen rows as
        # they need, so every row is seen whole.
        self.wrap = not self.wrap
        self.scroll_to(x=0, animate=False)
        self._fold()
        self.set_cursor(self.cursor)
        self.notify_app()

    # wrap: a row folded over several screen rows
    def _fold(self) -> None:
        """The first screen row of each row (``_starts``, the total last) at the pane's width; None: no wrap."""
        width = self.fold_width()
        if not self.wrap or self.size.width <= 0:
            self._starts = None
            self.update_size()
            return
        self.lines = len(self.rows)  # folded, every line is counted
        starts = [0]
        total = 0
        for i, row in enumerate(self.rows):
            # a row surely shorter than the width is one screen row (attributes: 34 cells and the owner's digits)
            name, link = row.node.name, row.node.link_target or ""
            short = len(row.prefix) + len(name) + len(link) + 8
            if not (name.isascii() and link.isascii()):  # a wide character takes two cells
                short += cell_len(name) - len(name) + cell_len(link) - len(link)
            if self.attributes:
                short += self.attributes_width() - 1
                if not self.compact:
                    short += max(0, len(f"{row.node.uid}:{row.node.gid}") - 11)
            total += 1 if short <= width else len(self._pieces(i, width))
            starts.append(total)
        self._starts = starts
        self.update_size()

    def _pieces(self, index: int, width: int) -> list[Text]:
        """Row ``index`` folded at ``width`` cells. When the attribute columns take half the width, they are a
        screen row of their own and the tree's guides and the name start the next; a name too long for a row
        goes on under itself (or two cells in, when it starts past half the width)."""
        text = self.line_text(index)
        if text.cell_len <= width or width < 4:
            return [text]
        row = self.rows[index]
        name_at = len(row.prefix) + 4
        head: list[Text] = []
        if self.attributes:
            attributes = len(self._attributes(row.node))  # ASCII: characters are cells
            if attributes + name_at > width // 2 and attributes < width:
                first, text = text.divide([attributes])
                head = [first]
            else:
                name_at += attributes
        indent = name_at if name_at <= width // 2 else 2
        cuts: list[int] = []
        room = width
        used = 0
        for offset, char in enumerate(text.plain):
            size = cell_len(char)
            if used + size > room and offset:
                cuts.append(offset)
                room = width - indent
                used = 0
            used += size
        pieces = list(text.divide(cuts))
        return [*head, pieces[0], *(Text(" " * indent) + piece for piece in pieces[1:])]

    def fold_width(self) -> int:
        """The cells a folded row may take: the pane less its vertical scrollbar."""
        return max(1, self.size.width - self.styles.scrollbar_size_vertical)

    def screen_rows(self) -> int:
        return self._starts[-1] if self._starts is not None else self.lines

    def screen_row_of(self, index: int) -> tuple[int, int]:
        starts = self._starts
        if starts is None or index >= len(starts) - 1:
            return index, 1
        return starts[index], starts[index + 1] - starts[index]

    def line_at(self, row: int) -> tuple[int, int]:
        starts = self._starts
        if starts is None:
            return row, 0
        index = bisect_right(starts, row) - 1
        return index, row - starts[index]

    def line_part(self, index: int, part: int, width: int) -> Text:
        if self._starts is None:
            return self.line_text(index)
        pieces = self._pieces(index, self.fold_width())
        return pieces[part] if part < len(pieces) else Text()

    def on_resize(self, event: events.Resize) -> None:
        compact = self.fold_width() < FULL_ATTRIBUTES + NAME_ROOM
        if compact != self.compact:
            self.compact = compact
            self.notify_app()  # the column titles above the pane
            if not self.wrap:
                self.update_size()
            self.refresh()
        if self.wrap:
            self._fold()

    def action_left(self) -> None:
        node = self.current()
        if node is None or node.parent is None or node.parent.parent is None:
            return
        self.rebuild(keep=node.parent.path)

    def action_right(self) -> None:
        node = self.current()
        if node is None or not node.is_dir:
            return
        self.expanded.add(node.path)
        self.rebuild(keep=node.path)
        self.set_cursor(self.cursor + 1)

    def action_extract_file(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.view_file()

    def action_path_history(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.show_history()

    def action_copy_path(self) -> None:
        node = self.current()
        if node is not None:
            self.app.copy_to_clipboard(node.path)
            self.app.notify(f"copied {printable(node.path)}", markup=False)

    def notify_app(self) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            app.refresh_status()


# -- modal screens: the lenses -----------------------------------------------------------------------------------


_LENS_MOVES = frozenset({"up", "down", "page-up", "page-down"})


class Lens(ModalScreen[None]):
    """A full-screen view over the app; Esc or q closes it. Opaque: a translucent lens has the screen beneath
    composited into each of its frames (40-60 ms of a key press at 160x48)."""

    # A modal screen ends the key chain: the app's own keys are not reached from it. Its moves and Ctrl+C are
    # bound here again (with the app's ids, so that a remapped key moves here too) and act on what has the focus.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss_lens", "Close", id="close-lens"),
        Binding("ctrl+c", "quit_app", "Quit", show=False, id="lens-quit"),
        *(b for b in _bindings("global") if isinstance(b, Binding) and b.id in _LENS_MOVES),
    ]
    DEFAULT_CSS = """
    Lens { align: center middle; background: $background; }
    Lens > Vertical { width: 96%; height: 92%; border: round $accent; background: $surface; }
    Lens .lens-title { text-style: bold; padding: 0 1; }
    Lens .lens-help { color: $text-muted; padding: 0 1; }
    """

    def action_dismiss_lens(self) -> None:
        self.dismiss(None)

    def action_quit_app(self) -> None:
        self.app.exit()

    def _move(self, action: str) -> None:
        app = self.app
        if isinstance(app, ExploreApp):
            getattr(app, f"action_{action}")()

    def action_up(self) -> None:
        self._move("up")

    def action_down(self) -> None:
        self._move("down")

    def action_page_up(self) -> None:
        self._move("page_up")

    def action_page_down(self) -> None:
        self._move("page_down")


WASTE_HEADER = f"{'Size':>9}  {'Written by':<10} {'Hidden by':<10} {'How':<31} {'dive:':>5} {'bytes':>10}  Path"


class WasteScreen(Lens):
    """Why is this wasted? Each wasted copy: who wrote it, who hid it, how; dive's figures beside."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "jump_hidden", "Jump to where it was hidden", id="waste-jump"),
        Binding("g", "jump_written", "Jump to where it was written", id="waste-jump-written"),
    ]

    def __init__(self, lens: WasteLens) -> None:
        super().__init__()
        self.lens = lens

    def compose(self) -> ComposeResult:
        lens = self.lens
        with Vertical():
            yield Static(
                f"Why is this wasted?  imgscope: {human(lens.wasted_bytes)} in {len(lens.rows)} stored copies"
                f" · dive: {human(lens.dive_wasted_bytes)}"
                + (f" ({len(lens.dive_only)} paths dive counts hold no waste here)" if lens.dive_only else ""),
                classes="lens-title",
            )
            yield Static(Text(WASTE_HEADER, style="bold"), classes="lens-header")
            yield TextLines(len(lens.rows), self.row_text, id="waste-table")
            yield Static("Enter: show where it was hidden · g: where it was written · Esc: close", classes="lens-help")

    def row_text(self, index: int) -> Text:
        row = self.lens.rows[index]
        dive_count = "—" if row.dive_count is None else str(row.dive_count)
        dive_bytes = "—" if row.dive_bytes is None else human(row.dive_bytes)
        return Text(
            f"{human(row.size):>9}  {'layer ' + str(row.layer):<10} {'layer ' + str(row.hidden_by):<10} "
            f"{row.how:<31} {dive_count:>5} {dive_bytes:>10}  {printable(row.path)}"
        )

    def on_mount(self) -> None:
        self.query_one("#waste-table", TextLines).focus()

    def _row(self) -> WasteRow | None:
        if not self.lens.rows:
            return None
        return self.lens.rows[self.query_one("#waste-table", TextLines).cursor]

    def _jump(self, layer: int) -> None:
        row = self._row()
        if row is None:
            return
        app = self.app
        self.dismiss(None)
        if isinstance(app, ExploreApp):
            app.jump_to(row.path, layer)

    def action_jump_hidden(self) -> None:
        row = self._row()
        if row is not None:
            self._jump(row.hidden_by)

    def action_jump_written(self) -> None:
        row = self._row()
        if row is not None:
            self._jump(row.layer)


class TextScreen(Lens):
    """A titled, scrollable text. The app keeps one (installed) and shows each text in it: pushed again, its
    widgets are already mounted (``ExploreApp.show_text``). A short text is wrapped to the width; a long one (a
    file's content) is drawn a screen of lines at a time, each line whole (scrolled sideways): Textual would wrap
    all of it before the first frame, seconds for a file of 10,000 lines."""

    #: texts of this many lines or more are drawn as lines (``ScrollLines``), not wrapped
    LONG = 400

    def __init__(self, title: str, body: Text | str, help_text: str = "Esc: close") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.help_text = help_text
        self.lines: list[Text] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="lens-title", id="lens-title")
            with VerticalScroll(id="lens-scroll"):
                yield Static("", id="lens-body")
            yield ScrollLines(0, self._line, id="lens-lines")
            yield Static(Text(self.help_text), classes="lens-help", id="lens-help")

    def _line(self, index: int) -> Text:
        return self.lines[index]

    def shown_text(self) -> str:
        """The text shown, plain (either way it is drawn)."""
        return self.body.plain if isinstance(self.body, Text) else self.body

    def _viewer(self) -> Widget:
        return self.query_one("#lens-lines" if self.lines else "#lens-scroll")

    def _show_body(self) -> None:
        body = self.body
        text = body if isinstance(body, Text) else Text(body)
        self.lines = list(text.split("\n")) if text.plain.count("\n") >= self.LONG else []
        scroll, lines = self.query_one("#lens-scroll", VerticalScroll), self.query_one("#lens-lines", ScrollLines)
        scroll.display, lines.display = not self.lines, bool(self.lines)
        self.query_one("#lens-body", Static).update("" if self.lines else text)
        lines.count = len(self.lines)
        lines.width_needed = max((line.cell_len for line in self.lines), default=1)
        lines.cursor = 0
        lines.update_size()
        lines.scroll_home(animate=False)
        scroll.scroll_home(animate=False)

    def set_text(self, title: str, body: Text | str, help_text: str = "Esc: close") -> None:
        """Show another text (the screen is not shown now)."""
        self.title_text, self.body, self.help_text = title, body, help_text
        if self.is_mounted:
            self.query_one("#lens-title", Static).update(Text(title))  # as written: a path may hold "[/b]"
            self.query_one("#lens-help", Static).update(Text(help_text))
            self._show_body()

    def on_mount(self) -> None:
        self._show_body()
        self._viewer().focus()

    def on_screen_resume(self) -> None:
        self._viewer().focus()


def history_text(analysis: Analysis, path: str, timeline: Timeline | None = None) -> Text:
    """What each layer did to ``path``, in words."""
    events = path_history(analysis, path, timeline)
    text = Text()
    if not events:
        text.append("No layer wrote or removed this path.\n")
    for e in events:
        what = {"added": "written", "modified": "overwritten", "removed": "removed"}[e.kind.value]
        if e.metadata_only:
            what = "copied again (mode/owner only)"
        style = {"added": "green", "modified": "yellow", "removed": "red"}[e.kind.value]
        text.append(f"layer {e.layer:>3}  ", style="bold")
        text.append(f"{what:<32}", style=style)
        text.append(f"{e.type.value:<8} {human(e.size):>9}  ")
        text.append(printable(" ".join(e.command.split()))[:160] + "\n", style="dim")
    return text


def content_text(content: MemberContent) -> Text:
    """A file's first bytes: text as text, anything else as a hex dump."""
    if content.type == "symlink":
        return Text(f"symbolic link to {printable(content.link_target)}")
    if content.type == "dir":
        return Text("a directory")
    if content.type == "other":
        return Text("a special file (device, fifo): no content")
    if content.binary:
        head = content.data[:4096]
        lines = []
        for off in range(0, len(head), 16):
            chunk = head[off : off + 16]
            hexes = " ".join(f"{b:02x}" for b in chunk)
            chars = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
            lines.append(f"{off:08x}  {hexes:<47}  {chars}")
        return Text(
            f"binary, {human(content.size)} ({content.size} bytes); the first {len(head)} bytes:\n\n" + "\n".join(lines)
        )
    body = content.data.decode("utf-8", "replace")
    return Text(printable_text(body))


def printable_text(body: str) -> str:
    """Text with its line breaks and tabs kept, every other control character escaped."""
    return "\n".join(printable(line.replace("\t", "    ")) for line in body.split("\n"))


# -- the app ------------------------------------------------------------------------------------------------------


class ExploreApp(App[None]):
    """``imgscope explore``: dive's layout, keys and colours, on an ``Analysis``."""

    TITLE = "imgscope explore"
    # Textual's command palette would take Ctrl+P from every pane (a priority binding): it is dive's wrap key
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #main { height: 1fr; }
    #left { width: 1fr; }
    #right { width: 1fr; }
    Screen.-narrow #left { width: 2fr; }
    Screen.-narrow #right { width: 3fr; }
    .pane { border: round $panel-lighten-2; border-title-style: bold; }
    .pane:focus, .pane:focus-within { border: round $accent; }
    #layers { height: auto; max-height: 50%; min-height: 3; }
    #layer-details-box { height: 1fr; min-height: 3; }
    #image-details-box { height: 1fr; min-height: 3; }
    #filter { display: none; height: 3; }
    #filter.shown { display: block; }
    #status { height: 1; background: $panel; }
    #tree-header { height: 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = _bindings("global")
    # below 120 columns the file tree takes three fifths of the width, not half: its rows are the wider
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 (Textual declares it so)

    def __init__(
        self,
        analysis: Analysis,
        *,
        against: Analysis | None = None,
        settings: ExploreSettings | None = None,
        source: str | None = None,
        own_process: bool = False,
    ) -> None:
        """``own_process``: the caller owns the process (the command line), so the collector may be paused
        while the timeline is built in a worker thread (``imgscope._gc``)."""
        super().__init__()
        self.own_process = own_process
        self.analysis = analysis
        self.against = against
        self.settings = settings or ExploreSettings()
        self.source = source or analysis.image.source
        self.timeline: Timeline | None = None  # built once, by the first view's worker
        self._timeline_lock = Lock()
        self.mode = Mode.AGGREGATED if self.settings.aggregated else Mode.LAYER
        self.compare_base: int | None = None
        self.images_view = against is not None
        self.view_key: ViewKey | None = None
        self._advice: list[Finding] | None = None
        self._ready_callbacks: list[Callable[[], None]] = []
        self.view_ready = False
        self.filtering = False
        self.shown_at: list[float] = []  # when each view's tree was handed to the screen (for benchmarks)
        self._filter_timer: Timer | None = None
        self._applied_filter = ""
        self.counts: dict[DiffKind, int] = dict.fromkeys(DiffKind, 0)
        self._bars: dict[str, Text] = {}  # what the one-line bars show
        self._waste: WasteLens | None = None
        self._text_screen: TextScreen | None = None
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))

    # layout
    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="left"):
                layers = LayersPane(self.analysis, id="layers", classes="pane")
                layers.border_title = "Layers"
                yield layers
                with VerticalScroll(id="layer-details-box", classes="pane") as box:
                    box.border_title = "Layer Details"
                    yield Static(id="layer-details")
                head = self.image_details().split("\n")
                rows = self.analysis.dive.inefficiencies  # dive's order, as its Image Details shows it: largest first

                def line(index: int) -> Text:
                    if index < len(head):
                        return head[index]
                    item = rows[index - len(head)]
                    return Text(f"{item.count:>5}  {human(item.cumulative_size):>12}  {printable(item.path)}")

                details = TextLines(len(head) + len(rows), line, id="image-details-box", classes="pane")
                details.border_title = "Image Details"
                yield details
            with Vertical(id="right", classes="pane") as right:
                right.border_title = "Current Layer Contents"
                yield Static(id="tree-header")
                yield FileTreePane(self.settings, id="tree")
        yield Input(placeholder="Path Filter: regex or glob, and sizes like >1MB", id="filter")
        yield Static(id="status")

    def on_mount(self) -> None:
        freeze_survivors(own_process=self.own_process)  # the analyses, for as long as the app runs
        layers = self.query_one(LayersPane)
        layers.update_size()
        # the key-help bar follows the focus in the frame that moves it (DescendantFocus comes a frame later)
        self.watch(self.screen, "focused", lambda _: self.refresh_status(), init=False)
        layers.focus()
        self.layer_selected(0)

    # the panes' content
    def image_details(self) -> Text:
        a = self.analysis
        s = a.summary
        text = Text()
        text.append("Image name: ", style="bold")
        text.append(printable(a.image.name or self.source) + "\n")
        for note in a.image.notes:  # which image of several was taken, and how to choose another
            text.append("Note: ", style="bold yellow")
            text.append(printable(note) + "\n")
        text.append("Total Image size: ", style="bold")
        text.append(f"{human(s.size)}\n")
        text.append("Potential wasted space: ", style="bold")
        text.append(f"{human(s.wasted_bytes)} (imgscope) · {human(a.dive.wasted_bytes)} (dive)\n")
        text.append("Image efficiency score: ", style="bold")
        text.append(f"{format_percent(s.efficiency)} (imgscope) · {format_percent(a.dive.efficiency)} (dive)\n\n")
        text.append(f"{'Count':>5}  {'Total Space':>12}  Path", style="bold")
        return text

    def layer_details(self, index: int) -> Text:
        a = self.analysis
        report = a.layers[index]
        text = Text()
        text.append("Tags:   ", style="bold")
        text.append((", ".join(a.image.tags) if index == len(a.layers) - 1 and a.image.tags else "(none)") + "\n")
        text.append("Id:     ", style="bold")
        text.append(f"{report.diff_id or '?'}\n")
        text.append("Size:   ", style="bold")
        stored = "" if report.compressed_size is None else f"; {human(report.compressed_size)} to pull"
        text.append(f"{human(report.size)} ({report.size} bytes{stored})\n")
        text.append("Digest: ", style="bold")
        text.append(f"{report.digest or '?'}\n")
        text.append("Changes: ", style="bold")
        text.append(f"+{report.added} ~{report.modified} -{report.removed}\n")
        text.append("Command:\n", style="bold")
        created_by = report.history.created_by if report.history else None
        text.append(printable_text(report.command or created_by or "(none)"))
        return text

    def refresh_status(self) -> None:
        """The key-help bar (dive's status line): the keys as bound now, the active toggles highlighted."""
        tree = self.query_one(FileTreePane)
        focused = self.focused

        def key(binding_id: str, label: str, active: bool | None = None) -> Text:
            style = "bold magenta" if active else "bold"
            shown = key_label(self._keys_of(binding_id))
            return Text.assemble((f"{shown} ", style), (label, "magenta" if active else ""), "  ")

        parts = [
            key("quit", "Quit"),
            key("toggle-view", "Switch view"),
            key("filter-files", "Filter", self.filter_shown),
        ]
        if isinstance(focused, LayersPane):
            parts += [
                key("compare-layer", "Show layer changes", self.mode is Mode.LAYER and self.compare_base is None),
                key(
                    "compare-all", "Show aggregated changes", self.mode is Mode.AGGREGATED and self.compare_base is None
                ),
                key("compare-mark", "Compare with layer", self.compare_base is not None),
            ]
        elif isinstance(focused, FileTreePane):
            parts += [
                key("toggle-collapse-dir", "Collapse dir"),
                key("toggle-collapse-all-dir", "Collapse all dir"),
                key("toggle-sort-order", f"Sort: {tree.sort}"),
                key("toggle-added-files", "Added", DiffKind.ADDED not in tree.hidden_kinds),
                key("toggle-removed-files", "Removed", DiffKind.REMOVED not in tree.hidden_kinds),
                key("toggle-modified-files", "Modified", DiffKind.MODIFIED not in tree.hidden_kinds),
                key("toggle-unmodified-files", "Unmodified", DiffKind.UNMODIFIED not in tree.hidden_kinds),
                key("toggle-filetree-attributes", "Attributes", tree.attributes),
                key("toggle-wrap-tree", "Wrap", tree.wrap),
                key("extract-file", "View file"),
                key("path-history", "History"),
                key("copy-path", "Copy path"),
            ]
        parts += [key("waste-lens", "Wasted?"), key("advise", "Advice")]
        if self.against is not None:
            parts.append(key("compare-images", "Image B vs A", self.images_view))
        parts.append(key("help", "Keys"))
        if tree.attributes and tree.compact:
            header = Text(f"{'Permission':<10} {'Size':>10}  Filetree  (sorted by {tree.sort})")
        elif tree.attributes:
            header = Text(f"{'Permission':<10} {'UID:GID':>11} {'Size':>10}  Filetree  (sorted by {tree.sort})")
        else:
            header = Text(f"Filetree  (sorted by {tree.sort})")
        # one line each, whatever they hold: repainted, with no new layout of the screen (a third of a key press)
        for widget_id, text in (("#status", Text.assemble(*parts)), ("#tree-header", header)):
            if self._bars.get(widget_id) != text:
                self._bars[widget_id] = text
                self.query_one(widget_id, Static).update(text, layout=False)

    @property
    def filter_shown(self) -> bool:
        return self.query_one("#filter", Input).has_class("shown")

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.refresh_status()

    # layer selection and modes
    def current_key(self) -> ViewKey:
        layer = self.query_one(LayersPane).cursor
        if self.images_view and self.against is not None:
            return ViewKey(Mode.IMAGES, len(self.against.layers) - 1, len(self.analysis.layers) - 1)
        if self.compare_base is not None and self.compare_base != layer:
            return ViewKey.layers(self.compare_base, layer)
        if self.mode is Mode.AGGREGATED:
            return ViewKey.aggregated(layer)
        return ViewKey.layer(layer)

    def layer_selected(self, index: int, moved: bool = False) -> None:
        """Layer ``index`` selected (``moved``: by the user, which leaves the image comparison)."""
        if not self.analysis.layers:
            self.query_one("#layer-details", Static).update("The image has no layers.")
            self.update_view()
            return
        self.query_one("#layer-details", Static).update(self.layer_details(index))
        if moved:
            self.images_view = False
        self.update_view()

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode
        self.compare_base = None
        self.images_view = False
        self.update_view()

    def mark_compare(self, index: int) -> None:
        self.compare_base = None if self.compare_base == index else index
        self.images_view = False
        if self.compare_base is not None:
            self.notify(f"comparing against layer {index}: move to another layer")
        self.update_view()

    def action_compare_images(self) -> None:
        if self.against is None:
            self.notify("start with --against IMAGE to compare two images", severity="warning")
            return
        self.images_view = not self.images_view
        self.update_view()

    def update_view(self) -> None:
        if not self.analysis.layers and not (self.images_view and self.against is not None):
            self.query_one("#right").border_title = "No layers"
            self.view_ready = True
            return
        key = self.current_key()
        self.view_key = key
        layers = self.query_one(LayersPane)
        layers.view_key = key
        layers.refresh()
        self.view_ready = False
        timeline = self.timeline
        tree = self.query_one(FileTreePane)
        if (
            timeline is not None
            and key.mode is not Mode.IMAGES
            and tree.path_filter is None
            and not tree.hidden_kinds
            and (key.mode is Mode.LAYER or timeline.has_counts(-1 if key.base is None else key.base))
        ):
            # Nothing to compute: the view reads the timeline as its rows are drawn. Shown in this key press,
            # with no worker to wait for and no second repaint.
            view = build_view(timeline, key)
            self._show(key, view, view.counts(), None)
            return
        # "building…" only when the tree is slow to come (the first views, while the timeline is built): a title
        # changed twice in a key press repaints the pane twice
        self.set_timer(BUILDING_AFTER, lambda: self._say_building(key))
        self.refresh_status()
        self._build(key)

    def _say_building(self, key: ViewKey) -> None:
        if not self.view_ready and key == self.view_key:
            self.query_one("#right").border_title = key.title + " (building…)"

    @work(thread=True, exclusive=True, group="view")
    def _build(self, key: ViewKey) -> None:
        if key.mode is Mode.IMAGES:
            assert self.against is not None
            view = compare_images(self.analysis, self.against)
        else:
            with self._timeline_lock:  # a later view waits here until the whole timeline is built
                if self.timeline is None:
                    records = None
                    if key.top + 1 < len(self.analysis.layers):
                        # The first screen from the layers it needs (layer 0: a fraction of the image), then the rest.
                        quick = Timeline(self.analysis, layers=key.top + 1, own_process=self.own_process)
                        records = quick.records
                        self._deliver(key, build_view(quick, key))
                    timeline = Timeline(self.analysis, own_process=self.own_process, records=records)
                    if self._waste is None:  # the waste lens's rows, made here rather than when w is pressed
                        self._waste = waste_lens(self.analysis)
                    timeline.presence()  # "open all" then knows its lines at once (``LayerView.full_lines``)
                    freeze_survivors(own_process=self.own_process)
                    self.timeline = timeline  # the other views may read it: it is whole
                    if key.top + 1 < len(self.analysis.layers):
                        return
            view = build_view(self.timeline, key)
        self._deliver(key, view)

    def _deliver(self, key: ViewKey, view: ViewTree) -> None:
        """(In the worker) what the tree needs of ``view``, then the tree is updated on the app's thread."""
        counts = view.counts()
        tree = self.query_one(FileTreePane)
        shown = view.visible(tree.path_filter, frozenset(tree.hidden_kinds))
        self._know_lines(view, tree.path_filter, shown)
        self.call_from_thread(self._show, key, view, counts, shown)

    def _show(self, key: ViewKey, view: ViewTree, counts: dict[DiffKind, int], shown: set[str] | None) -> None:
        if key != self.view_key:
            return  # a later selection superseded this one
        tree = self.query_one(FileTreePane)
        tree.set_view(view, shown)
        self.counts = counts
        self.query_one("#right").border_title = key.title
        self.show_subtitle()
        self.view_ready = True
        self.shown_at.append(time.perf_counter())
        self.refresh_status()
        callbacks, self._ready_callbacks = self._ready_callbacks, []
        for callback in callbacks:
            callback()

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the tree shows the current view."""
        if self.view_ready:
            callback()
        else:
            self._ready_callbacks.append(callback)

    # global actions (dive)
    async def action_quit(self) -> None:
        self.exit()

    def action_toggle_view(self) -> None:
        layers = self.query_one(LayersPane)
        if self.focused is layers:
            self.query_one(FileTreePane).focus()
        else:
            layers.focus()

    def action_filter_files(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_class("shown") and self.focused is box:
            self.action_close_filter_files()
            return
        box.add_class("shown")
        box.focus()
        self.refresh_status()

    def action_close_filter_files(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.has_class("shown"):
            return
        if self._filter_timer is not None:
            self._filter_timer.stop()
            self._filter_timer = None
        box.value = ""
        box.remove_class("shown")
        self.apply_filter("")
        self.query_one(FileTreePane).focus()

    def filter_cleared(self) -> None:
        self._applied_filter = ""  # the tree's filter is gone: the same text typed again applies it again
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("shown")

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            # a pause in typing applies it: each character would be a pass over every path
            if self._filter_timer is not None:
                self._filter_timer.stop()
            value = event.value
            self._filter_timer = self.set_timer(FILTER_DELAY, lambda: self._typed(value))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if self._filter_timer is not None:
                self._filter_timer.stop()
                self._filter_timer = None
            if event.value != self._applied_filter:  # else a pause in typing applied it already
                self.apply_filter(event.value, now=True)  # with the focus moved below: one frame
            self.query_one(FileTreePane).focus()  # the filter stays: navigate what it found

    def _typed(self, value: str) -> None:
        """The filter line after a pause in typing (unless Enter or Esc applied or closed it meanwhile)."""
        if self.is_running and self.filter_shown and value != self._applied_filter:
            self.apply_filter(value)

    def apply_filter(self, text: str, now: bool = False) -> None:
        """Parse the filter line; the tree follows once the matches are found (in a worker; ``now``: a regular
        expression in this key press, ``refilter``)."""
        self._applied_filter = text
        tree = self.query_one(FileTreePane)
        box = self.query_one("#filter", Input)
        try:
            flt = parse_filter(text)
        except ValueError as exc:
            box.border_subtitle = printable(str(exc))
            return
        box.border_subtitle = ""
        tree.path_filter = flt if flt.active else None
        self.refilter(now)

    def refilter(self, now: bool = False) -> None:
        """Find what the filter and the hidden kinds leave, then show it: in a worker (``now``: a regular
        expression in this key press, unless the paths are very many)."""
        tree = self.query_one(FileTreePane)
        if tree.vtree is None:
            return
        self.filtering = True
        hidden = frozenset(tree.hidden_kinds)
        if tree.path_filter is None and not hidden:
            self._filtered(tree.vtree, None, hidden, None)  # everything: nothing to look for
            return
        view, flt = tree.vtree, tree.path_filter
        if (
            now
            and isinstance(view, LayerView)
            and flt is not None
            and flt.pattern is not None
            and not hidden
            and view.candidate_count() <= MATCH_HERE
            and len(view.pattern_rows(flt)) <= SHOW_HERE
        ):
            # A regular expression, tried from C on the paths there after the view's layers (~30 ms on 200,000),
            # what it shows read from the presence masks: the tree follows in this key press, in one frame with
            # the focus moved (in a worker, the focus moved first, then the tree: five frames). Unless the paths,
            # or the matches, are very many: then in the worker.
            shown = view.visible(flt, hidden)
            self._know_lines(view, flt, shown)
            self._filtered(view, flt, hidden, shown)
            return
        self._filter(view, flt, hidden)

    @work(thread=True, exclusive=True, group="filter")
    def _filter(self, view: ViewTree, flt: Filter | None, hidden: frozenset[DiffKind]) -> None:
        shown = view.visible(flt, hidden)
        self._know_lines(view, flt, shown)
        self.call_from_thread(self._filtered, view, flt, hidden, shown)

    def _know_lines(self, view: ViewTree, flt: Filter | None, shown: set[str] | None) -> None:
        """(In a worker) with every directory open (a filter opens them), the lines of the tree that ``shown``
        leaves, found here rather than counted as the screen reads them (``LayerView.full_lines``)."""
        if (
            shown is not None
            and isinstance(view, LayerView)
            and (flt is not None or self.query_one(FileTreePane).expanded.every)
        ):
            view.full_lines(shown)

    def _filtered(
        self, view: ViewTree, flt: Filter | None, hidden: frozenset[DiffKind], shown: set[str] | None
    ) -> None:
        tree = self.query_one(FileTreePane)
        if tree.vtree is not view or tree.path_filter is not flt or frozenset(tree.hidden_kinds) != hidden:
            return  # superseded
        tree.shown = shown
        tree.rebuild()
        self.filtering = False
        self.show_subtitle()

    def show_subtitle(self) -> None:
        tree = self.query_one(FileTreePane)
        c = self.counts
        flt = tree.path_filter
        self.query_one("#right").border_subtitle = (
            f"+{c[DiffKind.ADDED]} ~{c[DiffKind.MODIFIED]} -{c[DiffKind.REMOVED]}"
            + (f" · filter: {printable(flt.text)}" if flt is not None and flt.active else "")
        )

    def _panes(self) -> list[Any]:
        return [
            self.query_one(LayersPane),
            self.query_one("#layer-details-box"),
            self.query_one("#image-details-box"),
            self.query_one(FileTreePane),
        ]

    def _pane_step(self, step: int) -> None:
        panes = self._panes()
        current = next((i for i, p in enumerate(panes) if p is self.focused), 0)
        panes[(current + step) % len(panes)].focus()

    def _delegate(self, action: str) -> bool:
        """Run ``action`` on the focused pane when it has it (the layers and the tree move their cursor)."""
        focused = self.focused
        method = getattr(focused, f"action_{action}", None)
        if isinstance(focused, LinePane) and method is not None:
            method()
            return True
        return False

    def action_right(self) -> None:
        if not self._delegate("right"):
            self._pane_step(1)

    def action_left(self) -> None:
        if not self._delegate("left"):
            self._pane_step(-1)

    def action_up(self) -> None:
        focused = self.focused
        if not self._delegate("up") and isinstance(focused, VerticalScroll):
            focused.scroll_up(animate=False)

    def action_down(self) -> None:
        focused = self.focused
        if not self._delegate("down") and isinstance(focused, VerticalScroll):
            focused.scroll_down(animate=False)

    def action_page_up(self) -> None:
        focused = self.focused
        if not self._delegate("page_up") and isinstance(focused, VerticalScroll):
            focused.scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        focused = self.focused
        if not self._delegate("page_down") and isinstance(focused, VerticalScroll):
            focused.scroll_page_down(animate=False)

    # imgscope's lenses
    def action_waste_lens(self) -> None:
        if self._waste is None:
            self._waste = waste_lens(self.analysis)
        if not self.is_screen_installed("waste"):
            # kept (installed): pushed again, it is shown with no new widgets to mount
            self.install_screen(WasteScreen(self._waste), name="waste")
        self.push_screen("waste")

    def jump_to(self, path: str, layer: int) -> None:
        """Show ``path`` in the tree of ``layer``'s changes, cursor on it."""
        self.compare_base = None
        self.images_view = False
        self.mode = Mode.LAYER
        layers = self.query_one(LayersPane)
        tree = self.query_one(FileTreePane)
        tree.focus()

        def reveal() -> None:
            if not tree.reveal(path):
                self.notify(f"{printable(path)} is not in this view", severity="warning", markup=False)

        self.view_ready = False
        self._ready_callbacks.append(reveal)
        if layers.cursor != layer:
            layers.set_cursor(layer)  # selects the layer, which builds the view
        else:
            self.update_view()

    def show_history(self) -> None:
        node = self.query_one(FileTreePane).current()
        if node is None:
            return
        self.show_text(f"History of {printable(node.path)}", history_text(self.analysis, node.path, self.timeline))

    def show_text(self, title: str, body: Text | str) -> None:
        """A text in a lens: the app's one ``TextScreen``, or a new one when that one is open already (under
        another lens)."""
        screen = self._text_screen
        if screen is None:
            screen = self._text_screen = TextScreen(title, body)
            self.install_screen(screen, name="text")
        elif screen in self.screen_stack:
            self.push_screen(TextScreen(title, body))
            return
        screen.set_text(title, body)
        self.push_screen("text")

    def view_file(self) -> None:
        node = self.query_one(FileTreePane).current()
        key = self.view_key
        if node is None or key is None:
            return
        if node.is_dir:
            self.notify("a directory: Space opens it", severity="information")
            return
        analysis = self.against if key.mode is Mode.IMAGES and node.kind is not DiffKind.REMOVED else self.analysis
        assert analysis is not None
        at = len(analysis.layers) - 1 if key.mode is Mode.IMAGES else key.top
        if node.kind is DiffKind.REMOVED:
            at = (key.base if key.base is not None else key.top) if key.mode is not Mode.LAYER else key.top
        self._read_file(analysis, node.path, at)

    @work(thread=True, exclusive=True, group="content")
    def _read_file(self, analysis: Analysis, path: str, at: int) -> None:
        timeline = self.timeline
        layer = content_layer(analysis, path, at, timeline)
        if layer is None:
            self.call_from_thread(self.notify, f"no layer holds the bytes of {printable(path)}", severity="warning")
            return
        try:
            content = read_member(
                analysis.image, layer, path, resolve=lambda target: content_layer(analysis, target, layer, timeline)
            )
        except (ImgscopeError, OSError) as exc:
            self.call_from_thread(self.notify, printable(str(exc)), severity="error")
            return
        title = f"{printable(path)} as layer {content.layer} stores it · {human(content.size)}"
        if content.truncated:
            title += f" · the first {human(len(content.data))} shown"
        self.call_from_thread(self.show_text, title, content_text(content))

    def action_advise(self) -> None:
        self._advise(self.query_one(LayersPane).cursor)

    @work(thread=True, exclusive=True, group="advise")
    def _advise(self, layer: int) -> None:
        if self._advice is None:
            self._advice = advise(self.analysis)
        findings = [f for f in self._advice if layer in f.layers]
        text = Text()
        if not findings:
            text.append(f"No finding concerns layer {layer}.\n")
        for f in findings:
            style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[f.severity.value]
            text.append(f"{f.id} {f.severity.value.upper()} ", style=style)
            text.append(f"{f.title}", style="bold")
            if f.bytes_saved:
                text.append(f"  saves {human(f.bytes_saved)}")
            text.append("\n" + printable_text(f.message) + "\n")
            for p in f.paths:
                text.append(f"  {printable(p)}\n", style="dim")
            if f.path_count > len(f.paths):
                text.append(f"  … {f.path_count - len(f.paths)} more\n", style="dim")
            text.append("Fix: ", style="bold")
            text.append(printable_text(f.fix) + "\n\n")
        self.call_from_thread(self.show_text, f"Advice for layer {layer}", text)

    def action_help(self) -> None:
        text = Text()
        text.append(f"{'Key':<26}{'Where':<8}Action\n", style="bold")
        for k in KEYS:
            keys = self._keys_of(k.id)
            text.append(f"{keys:<26}{k.where:<8}{k.help}{'' if k.dive else '  (imgscope)'}\n")
        self.show_text("Keys (dive 0.13.1's, and imgscope's own)", text)

    def _keys_of(self, binding_id: str) -> str:
        keymap = dict(self.settings.keymap)
        return keymap.get(binding_id) or next(k.keys for k in KEYS if k.id == binding_id)
