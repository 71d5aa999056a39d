"""The self-contained HTML report: a zoomable treemap of the final filesystem, a bar per layer, the tables.

One file, offline: the CSS and the page script (``render/static/``, written for imgscope, no library) are
inlined, the data goes in as one JSON blob. Everything from the image (paths, commands, names) is untrusted:
the static tables escape it as HTML, the blob escapes ``<``, ``>``, ``&`` and every non-ASCII character (U+2028
and U+2029 included) so no path can end the ``<script>`` element, and the page script only ever sets text with
``textContent``. Nothing here runs a browser; the same fragment (no ``<html>``/``<body>``, every CSS rule scoped
under ``.imgscope-r``) is what a notebook shows.
"""

from __future__ import annotations

import heapq
import html
import json
from collections.abc import Iterable, Sequence
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from imgscope.dive.figures import format_ci_figures
from imgscope.model import EntryType
from imgscope.text import one_line, printable, setting_text
from imgscope.units import format_percent

if TYPE_CHECKING:
    from imgscope.advise import Advice
    from imgscope.analysis import Analysis, FileRecord
    from imgscope.compare import ImageDiff
    from imgscope.packages import PackageReport
    from imgscope.union.filesystem import WastedFile
    from imgscope.union.tree import TreeNode

#: Treemap nodes written into a report: enough to zoom several levels into any large directory, and the
#: 160,000-file benchmark image's report stays far below 2 MB.
TREEMAP_NODES = 6000
#: Per layer, the largest changes listed when its bar is clicked.
LAYER_CHANGES = 150
#: Characters of changed paths written for all layers together: an image of thousands of layers, or of very long
#: paths, still gives a page of a few hundred kilobytes.
CHANGES_BUDGET = 400_000
#: A history command longer than this is cut (a RUN with a long heredoc); the whole one is in the JSON document.
COMMAND_CHARS = 2000
TOP_ROWS = 100
LARGEST_ROWS = 30

_DIR, _FILE, _OTHER, _SPECIAL = 0, 1, 2, 3  # node kinds in the blob
_CHANGE_CODE = {"added": "a", "modified": "m", "removed": "r"}
_WASTE_WHY = {
    "overwritten": "replaced by other content in a later layer",
    "metadata-only": "copied again only to change its mode or owner",
    "identical-copy": "copied again with the same bytes and metadata",
    "deleted": "deleted by a later layer (whiteout)",
    "opaque": "hidden by an opaque directory in a later layer",
}


@cache
def _static(name: str) -> str:
    return resources.files("imgscope.render").joinpath("static").joinpath(name).read_text(encoding="utf-8")


def json_blob(data: Any) -> str:
    """``data`` as a ``<script type="application/json">`` element that no string inside can break out of."""
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    # JSON has no <, > or & outside strings; inside, the \\u escapes read back the same. ensure_ascii already
    # escaped U+2028/U+2029 (line terminators in old JavaScript) and every other non-ASCII character.
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f'<script type="application/json" class="imgscope-data">{text}</script>'


def _e(text: object) -> str:
    """Image-controlled text for HTML: control characters made visible, markup escaped."""
    return html.escape(printable(str(text)), quote=True)


def _path(path: str) -> str:
    return f'<span class="path">{_e(path)}</span>'


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    x, units = float(abs(n)), ("B", "kB", "MB", "GB", "TB")
    i = 0
    while x >= 1000 and i < len(units) - 1:
        x /= 1000
        i += 1
    text = f"{int(x)} B" if i == 0 else f"{x:.1f} {units[i]}"
    return ("-" if n < 0 else "") + text


def _signed(n: int) -> str:
    return ("+" if n > 0 else "") + _size(n)


def _pct(x: float) -> str:
    return format_percent(x)


def _cmd(command: str) -> str:
    """A history command for the report: secret-looking values masked, on one line, cut when very long."""
    return one_line(command, COMMAND_CHARS)


# ---------------------------------------------------------------------------------------------------- treemap


class _Node:
    __slots__ = ("children", "kind", "layer", "layers", "name", "size", "wasted")

    def __init__(self, name: str, kind: int, layer: int = -1) -> None:
        self.name = name
        self.kind = kind
        self.layer = layer
        self.size = 0
        self.wasted = 0
        self.children: dict[str, _Node] | None = None
        self.layers: dict[int, int] | None = None  # a directory's bytes per layer, for its colour

    def child(self, name: str) -> _Node:
        if self.children is None:
            self.children = {}
        node = self.children.get(name)
        if node is None:
            node = self.children[name] = _Node(name, _DIR)
        return node

    @property
    def value(self) -> int:
        return self.size + self.wasted

    def dominant(self) -> int:
        if self.layers:
            return max(self.layers.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        return self.layer


def _credit(chain: list[_Node], layer: int, size: int, wasted: bool) -> None:
    for node in chain:
        if wasted:
            node.wasted += size
        else:
            node.size += size
        if node.layers is None:
            node.layers = {}
        node.layers[layer] = node.layers.get(layer, 0) + size


def _build_tree(files: Iterable[FileRecord], wasted: Iterable[WastedFile]) -> _Node:
    root = _Node("", _DIR)
    seen: set[int] = set()  # stored copies counted (hard links share one)
    for f in files:
        parts = [p for p in f.path.split("/") if p]
        if not parts:
            continue
        chain = [root]
        node = root
        for part in parts:
            node = node.child(part)
            chain.append(node)
        if f.type is EntryType.DIR:
            continue
        node.kind = _FILE if f.type in (EntryType.FILE, EntryType.HARDLINK) else _SPECIAL
        node.layer = f.layer
        if f.record >= 0 and f.record not in seen and f.size:
            seen.add(f.record)
            node.size += f.size
            _credit(chain[:-1], f.layer, f.size, wasted=False)
    for w in wasted:
        parts = [p for p in w.path.split("/") if p]
        if not parts or not w.size:
            continue
        chain = [root]
        node = root
        for part in parts:
            node = node.child(part)
            chain.append(node)
        if node.children is None and node.kind == _DIR:
            node.kind, node.layer = _FILE, w.layer  # a path the final filesystem no longer has
        node.wasted += w.size
        _credit(chain[:-1], w.layer, w.size, wasted=True)
    return root


def treemap_data(root: _Node, budget: int = TREEMAP_NODES) -> dict[str, list[Any]]:
    """The tree as flat columns (no nesting, whatever the depth): name, parent, size, wasted, layer, kind.

    The largest directories are opened first until ``budget`` nodes are written; a directory's entries too
    small to see (under 1/20,000 of the whole) are summed into one "other" node."""
    cols: dict[str, list[Any]] = {"n": [""], "p": [-1], "s": [root.size], "w": [root.wasted], "l": [-1], "k": [0]}
    floor = max(1, root.value // 20000)
    heap: list[tuple[int, int, int, _Node]] = [(-root.value, 0, 0, root)]
    count = 1
    while heap and count < budget:
        _, _, index, node = heapq.heappop(heap)
        kids = sorted((c for c in (node.children or {}).values() if c.value > 0), key=lambda c: (-c.value, c.name))
        if not kids:
            continue
        keep = [c for c in kids[:400] if c.value >= floor]
        room = budget - count - (1 if len(keep) < len(kids) else 0)
        if room < 1:
            continue
        if len(keep) > room:
            keep = keep[: room - 1] if room > 1 else []
            if not keep:
                continue
        rest = kids[len(keep) :]
        for c in keep:
            position = len(cols["n"])
            cols["n"].append(c.name)
            cols["p"].append(index)
            cols["s"].append(c.size)
            cols["w"].append(c.wasted)
            cols["l"].append(c.dominant())
            cols["k"].append(c.kind)
            if c.children:
                heapq.heappush(heap, (-c.value, position, position, c))
        if rest:
            layers: dict[int, int] = {}
            for c in rest:
                for layer, n in (c.layers or {c.layer: c.value}).items():
                    layers[layer] = layers.get(layer, 0) + n
            cols["n"].append(f"({len(rest):,} smaller entries)")
            cols["p"].append(index)
            cols["s"].append(sum(c.size for c in rest))
            cols["w"].append(sum(c.wasted for c in rest))
            cols["l"].append(max(layers.items(), key=lambda kv: (kv[1], -kv[0]))[0] if layers else -1)
            cols["k"].append(_OTHER)
        count += len(keep) + (1 if rest else 0)
    return cols


def _layers_data(a: Analysis) -> list[dict[str, Any]]:
    wasted_by = [0] * len(a.layers)
    hidden_by = [0] * len(a.layers)
    for w in a.wasted_files:
        if 0 <= w.layer < len(wasted_by):
            wasted_by[w.layer] += w.size
        if 0 <= w.hidden_by < len(hidden_by):
            hidden_by[w.hidden_by] += w.size
    out = []
    for r in a.layers:
        allowance = CHANGES_BUDGET // max(1, len(a.layers))
        top = []
        for c in heapq.nlargest(LAYER_CHANGES, r.changes, key=lambda c: (c.size, c.path)):
            allowance -= len(c.path) + 16
            if allowance < 0:
                break
            top.append(c)
        out.append(
            {
                "i": r.index,
                "size": r.size,
                "csize": r.compressed_size,
                "a": r.added,
                "m": r.modified,
                "r": r.removed,
                "ab": r.added_bytes,
                "mb": r.modified_bytes,
                "rb": r.removed_bytes,
                "wb": wasted_by[r.index],
                "hb": hidden_by[r.index],
                "cmd": _cmd(r.command),
                "c": [[_CHANGE_CODE[c.kind.value], c.size, c.path] for c in top],
                "cn": len(r.changes),
            }
        )
    return out


def analysis_data(a: Analysis, budget: int = TREEMAP_NODES) -> dict[str, Any]:
    """What the page script draws for one image: the treemap's nodes and the layers."""
    return {
        "kind": "analysis",
        "tree": treemap_data(_build_tree(a.files, a.wasted_files), budget),
        "layers": _layers_data(a),
    }


def tree_data(node: TreeNode, budget: int = TREEMAP_NODES) -> dict[str, Any]:
    """A ``TreeNode`` (any layer's tree, or one layer's changes) for the treemap, coloured by change."""
    code = {None: -1, "added": 0, "modified": 1, "removed": 2}
    root = _Node("", _DIR)
    stack = [(node, root)]
    while stack:
        t, n = stack.pop()
        n.size = t.size
        n.wasted = t.removed_size if t.change is not None else 0
        n.layer = code.get(t.change.value if t.change else None, -1)
        if t.type is not EntryType.DIR:
            n.kind = _FILE
        for c in t.children:
            m = n.child(c.name)
            stack.append((c, m))
    return {"kind": "tree", "tree": treemap_data(root, budget)}


# ------------------------------------------------------------------------------------------------- static HTML


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], num: Sequence[int] = ()) -> str:
    """A table of already-escaped cells; columns in ``num`` right-aligned."""
    ths = "".join(f'<th class="num">{h}</th>' if i in num else f"<th>{h}</th>" for i, h in enumerate(head))
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in num else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><tr>{ths}</tr>{body}</table>"


def _more(shown: int, total: int, what: str) -> str:
    return f'<p class="more">… and {total - shown:,} more {what}</p>' if total > shown else ""


def _card(label: str, value: str, cls: str = "") -> str:
    return f'<div class="card {cls}"><span class="muted">{label}</span><b>{value}</b></div>'


def _header(a: Analysis, advice: Advice | None) -> str:
    img, s = a.image, a.summary
    meta = [f"{_e(img.source)} [{_e(img.format)}]"]
    if img.platform:
        meta.append(_e(img.platform))
    if img.created:
        meta.append("created " + _e(img.created))
    if img.config_digest:
        meta.append("id " + _e(img.config_digest.removeprefix("sha256:")[:12]))
    notes = "".join(f'<p class="muted">Note: {_e(n)}</p>' for n in img.notes)
    if not a.verified:
        notes += '<p class="muted">Layer digests not checked (--no-verify).</p>'
    cards = [
        _card("Content", f"{_size(s.size)}<span class=muted> in {s.layer_count} layers</span>"),
        _card("Compressed", _size(s.compressed_size)),
        _card("Visible", f"{_size(s.final_size)}<span class=muted> in {s.file_count:,} paths</span>"),
        _card(
            "Wasted",
            f"{_size(s.wasted_bytes)}<span class=muted> ({_pct(s.wasted_fraction)})</span>",
            "bad" if s.wasted_fraction > 0.1 else "" if s.wasted_bytes else "ok",
        ),
        _card("Efficiency", _pct(s.efficiency)),
    ]
    if s.duplicate_bytes:
        cards.append(_card("Duplicates", _size(s.duplicate_bytes)))
    if advice is not None:
        cards.append(_card("Advise could save", _size(advice.total_saved), "bad" if advice.total_saved else "ok"))
    return (
        f"<h2>imgscope: {_e(img.name or '(untagged image)')}</h2>"
        f'<p class="muted">{" · ".join(meta)}</p>{notes}<div class="cards">{"".join(cards)}</div>'
    )


def _legend(layers: int) -> str:
    swatches = "".join(
        f'<span class="swatch" style="background:hsl({(i * 67 + 200) % 360},58%,{60 if i % 2 else 70}%)"></span>{i}'
        for i in range(min(layers, 24))
    )
    return (
        f'<p class="legend">Colour: the layer that wrote the bytes{swatches}{" …" if layers > 24 else ""}'
        '<span class="swatch" style="background:repeating-linear-gradient(45deg,#c0392b 0 3px,#f6d5d5 3px 6px)">'
        "</span>wasted (stored, not visible). Click a directory to zoom in; Up or the path above to zoom out.</p>"
    )


def _layer_table(a: Analysis) -> str:
    rows = [
        (
            str(r.index),
            _size(r.size),
            _size(r.compressed_size),
            f"{r.added:,}",
            f"{r.modified:,}",
            f"{r.removed:,}",
            f'<span class="cmd">{_e(_cmd(r.command))}</span>',
        )
        for r in a.layers
    ]
    return (
        "<details><summary>Layer table</summary>"
        + _table(("#", "Size", "Compressed", "+", "~", "-", "Command"), rows, num=(0, 1, 2, 3, 4, 5))
        + "</details>"
    )


def _advice_section(advice: Advice) -> str:
    if not advice.findings:
        return "<h3>Advice</h3><p>No findings.</p>"
    rows = [
        (
            f'<span class="sev-{_e(f.severity.value)}">{_e(f.severity.value)}</span>',
            _e(f.id),
            f"<b>{_e(f.title)}</b><br>{_e(f.message)}<br><span class=muted>Fix: {_e(f.fix)}</span>",
            _size(f.bytes_saved) if f.bytes_saved is not None else "-",
            _e(", ".join(str(i) for i in f.layers)),
        )
        for f in advice.findings
    ]
    return f"<h3>Advice: {len(advice.findings)} findings, {_size(advice.total_saved)} could be saved</h3>" + _table(
        ("Severity", "Id", "Finding", "Saves", "Layers"), rows, num=(3,)
    )


def _wasted_section(a: Analysis) -> str:
    if not a.wasted_files:
        return "<h3>Wasted files</h3><p>None: every stored byte is visible in the final filesystem.</p>"
    shown = a.wasted_files[:TOP_ROWS]
    rows = [
        (
            _size(w.size),
            _path(w.path),
            str(w.layer),
            str(w.hidden_by),
            _WASTE_WHY[w.reason.value],
        )
        for w in shown
    ]
    return (
        f"<h3>Wasted files ({_size(a.summary.wasted_bytes)} in {len(a.wasted_files):,} stored copies)</h3>"
        + _table(("Size", "Path", "Written by", "Hidden by", "Why"), rows, num=(0, 2, 3))
        + _more(len(shown), len(a.wasted_files), "wasted copies")
    )


def _largest_section(a: Analysis) -> str:
    shown = a.largest_files[:LARGEST_ROWS]
    rows = [(_size(f.size), _path(f.path), str(f.layer)) for f in shown]
    return "<h3>Largest files</h3>" + _table(("Size", "Path", "Layer"), rows, num=(0, 2))


def _duplicates_section(a: Analysis) -> str:
    if not a.duplicates:
        return ""
    shown = a.duplicates[:20]
    rows = [
        (
            _size(g.wasted_bytes),
            str(len(g.paths)),
            "<br>".join(_path(p) for p in g.paths[:5]),
        )
        for g in shown
    ]
    return (
        f"<h3>Same bytes under several paths ({_size(a.summary.duplicate_bytes)} in extra copies)</h3>"
        + _table(("Extra bytes", "Copies", "Paths"), rows, num=(0, 1))
        + _more(len(shown), len(a.duplicates), "groups")
    )


def _packages_section(report: PackageReport) -> str:
    shown = report.packages[:TOP_ROWS]
    rows = [
        (
            _e(p.ecosystem),
            _e(p.name),
            _e(p.version),
            _size(p.size),
            f"{p.files:,}",
            "-" if p.layer is None else str(p.layer),
            _size(p.wasted_bytes) if p.wasted_bytes else "",
        )
        for p in shown
    ]
    os_name = f" on {_e(report.os)}" if report.os else ""
    return (
        f"<h3>Packages ({len(report.packages):,}{os_name})</h3>"
        f'<p class="muted">{_size(report.owned_bytes)} owned by packages, {_size(report.unowned_bytes)} by none'
        f"{f'; {_size(report.wasted_bytes)} of package bytes wasted' if report.wasted_bytes else ''}.</p>"
        + _table(("Type", "Name", "Version", "Size", "Files", "Layer", "Wasted"), rows, num=(3, 4, 5, 6))
        + _more(len(shown), len(report.packages), "packages")
    )


def _dive_section(a: Analysis) -> str:
    lines = "\n".join(_e(line.strip()) for line in format_ci_figures(a.dive))
    return (
        "<h3>dive's figures</h3>"
        f"<pre>{lines}</pre><p class=muted>dive 0.13.1's definitions, quirks included (docs/metrics.md).</p>"
    )


def _wrap(kind: str, body: str, data: dict[str, Any] | None) -> str:
    """The fragment: scoped style, static HTML, the data blob and the page script."""
    blob = json_blob(data) if data is not None else ""
    script = f"<script>{_static('report.js')}</script>" if data is not None else ""
    return (
        f'<div class="imgscope-r" data-imgscope="{kind}"><style>{_static("report.css")}</style>'
        f"{body}{blob}{script}</div>"
    )


def analysis_fragment(
    a: Analysis,
    advice: Advice | None = None,
    packages: PackageReport | None = None,
    *,
    budget: int = TREEMAP_NODES,
) -> str:
    """The report as an HTML fragment: no ``<html>``/``<body>``, every style scoped under ``.imgscope-r``."""
    body = [
        _header(a, advice),
        "<h3>Final filesystem</h3>",
        _legend(len(a.layers)),
        '<div class="tm"></div>',
        "<h3>Layers</h3>",
        '<p class="legend">Bytes each layer added and modified (lighter); the hatched part is what a later layer'
        " hid. Click a layer to list its changes and light up its files above.</p>",
        '<div class="lb"></div><div class="lc"></div>',
        _layer_table(a),
    ]
    if advice is not None:
        body.append(_advice_section(advice))
    body += [_wasted_section(a), _largest_section(a), _duplicates_section(a)]
    if packages is not None:
        body.append(_packages_section(packages))
    body.append(_dive_section(a))
    return _wrap("analysis", "".join(body), analysis_data(a, budget))


def _page(title: str, fragment: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_e(title)}</title><style>body{{margin:16px 24px;background:#fff}}</style></head>"
        f"<body>{fragment}</body></html>\n"
    )


def report_html(
    a: Analysis,
    advice: Advice | None = None,
    packages: PackageReport | None = None,
    *,
    budget: int = TREEMAP_NODES,
) -> str:
    """The whole report as one HTML page that needs nothing else (no network, no font, no library)."""
    return _page(f"imgscope: {a.image.name or a.image.source}", analysis_fragment(a, advice, packages, budget=budget))


# ------------------------------------------------------------------------------------------------------- diff


def _side_name(name: str | None, source: str, platform: str | None) -> str:
    return f"{name or '(untagged)'} ({source}{', ' + platform if platform else ''})"


def diff_fragment(d: ImageDiff, a: Analysis | None = None, b: Analysis | None = None) -> str:
    """Two images side by side (with their analyses: a treemap and layer bars each), what grew and shrank."""

    def grow(n: int) -> str:
        cls = "grew" if n > 0 else "shrank" if n < 0 else ""
        return f'<span class="{cls}">{_signed(n)}</span>'

    sizes = _table(
        ("", "A", "B", "B - A"),
        [
            (name, _size(s.a), _size(s.b), grow(s.delta))
            for name, s in (
                ("Content", d.size),
                ("Stored blobs", d.stored_size),
                ("Visible", d.final_size),
            )
        ]
        + [("Paths", f"{d.file_count.a:,}", f"{d.file_count.b:,}", f"{d.file_count.delta:+,}")],
        num=(1, 2, 3),
    )
    head = (
        "<h2>imgscope diff</h2>"
        f"<p><b>A</b> {_e(_side_name(d.a.name, d.a.source, d.a.platform))}<br>"
        f"<b>B</b> {_e(_side_name(d.b.name, d.b.source, d.b.platform))}</p>"
        f'<p class="muted">{d.common_layers} shared layers at the bottom; '
        f"{'the images are identical' if d.identical else f'{len(d.files):,} paths differ'}.</p>{sizes}"
    )
    sides = ""
    data: dict[str, Any] | None = None
    if a is not None and b is not None:
        sides = (
            '<div class="sides">'
            + "".join(
                f'<div class="side-{k}"><h3>{k.upper()}: {_e(x.image.name or x.image.source)} '
                f'<span class="muted">{_size(x.summary.final_size)} visible</span></h3>'
                '<div class="tm"></div><div class="lb"></div><div class="lc"></div></div>'
                for k, x in (("a", a), ("b", b))
            )
            + "</div>"
        )
        data = {"kind": "diff", "a": analysis_data(a, TREEMAP_NODES // 2), "b": analysis_data(b, TREEMAP_NODES // 2)}
    dirs = _table(
        ("Directory", "Change", "+ paths", "- paths", "~ paths", "Added", "Removed"),
        [
            (
                _path(x.path),
                grow(x.delta),
                f"{x.added:,}",
                f"{x.removed:,}",
                f"{x.changed:,}",
                _size(x.added_bytes),
                _size(x.removed_bytes),
            )
            for x in d.directories[:TOP_ROWS]
        ],
        num=(1, 2, 3, 4, 5, 6),
    )
    files = sorted(d.files, key=lambda f: (-abs(f.delta), f.path))[:TOP_ROWS]
    file_rows = _table(
        ("Change", "Size A", "Size B", "", "Path", "What"),
        [
            (
                grow(f.delta),
                _size(f.size_a) if f.kind != "added" else "-",
                _size(f.size_b) if f.kind != "removed" else "-",
                {"added": "+", "removed": "-"}.get(f.kind, "~"),
                _path(f.path),
                _e(", ".join(f.changed)),
            )
            for f in files
        ],
        num=(0, 1, 2),
    )
    layers = _table(
        ("#", "A", "B"),
        [
            (
                str(i),
                _layer_cell(d.layers_a[i]) if i < len(d.layers_a) else "",
                _layer_cell(d.layers_b[i]) if i < len(d.layers_b) else "",
            )
            for i in range(max(len(d.layers_a), len(d.layers_b)))
        ],
    )
    config = _table(
        ("Setting", "A", "B"),
        [  # secret-looking values masked, as in the terminal (--json has them all)
            (_e(c.key), _e(setting_text(c.key, c.a)), _e(setting_text(c.key, c.b))) for c in d.config
        ],
    )
    body = (
        head
        + sides
        + "<h3>What grew and shrank, by directory</h3>"
        + dirs
        + _more(min(len(d.directories), TOP_ROWS), len(d.directories), "directories")
        + "<h3>Paths that differ, largest change first</h3>"
        + file_rows
        + _more(len(files), len(d.files), "paths")
        + "<h3>Layers</h3>"
        + layers
        + ("<h3>Run-time config</h3>" + config if d.config else "")
    )
    return _wrap("diff", body, data)


def _layer_cell(x: Any) -> str:
    mark = '<span class="muted">shared</span> ' if x.shared else ""
    command = _cmd(x.command)
    short = command if len(command) <= 160 else command[:159] + "…"
    return f'{mark}{_size(x.size)} <span class="cmd" title="{_e(command)}">{_e(short)}</span>'


def diff_html(d: ImageDiff, a: Analysis | None = None, b: Analysis | None = None) -> str:
    """``imgscope diff A B --html``: one self-contained page."""
    return _page(f"imgscope diff: {d.a.name or d.a.source} → {d.b.name or d.b.source}", diff_fragment(d, a, b))


def tree_fragment(node: TreeNode, title: str | None = None) -> str:
    """A ``TreeNode`` as a treemap (colour: added, modified, removed; grey: untouched), for notebooks."""
    legend = (
        '<p class="legend">'
        + "".join(
            f'<span class="swatch" style="background:hsl({(i * 67 + 200) % 360},58%,{60 if i % 2 else 70}%)"></span>{k}'
            for i, k in enumerate(("added", "modified", "removed"))
        )
        + "</p>"
    )
    top = sorted(node.children, key=lambda c: (-c.weight, c.name))[:30]
    rows = [(_size(c.size), f"{c.files:,}", _path(c.path)) for c in top]
    body = (
        f"<h3>{_e(title or node.path)} <span class=muted>{_size(node.size)} in {node.files:,} files</span></h3>"
        + (legend if any(n.change is not None for n in node.walk()) else "")
        + '<div class="tm"></div>'
        + _table(("Size", "Files", "Path"), rows, num=(0, 1))
        + _more(len(top), len(node.children), "entries")
    )
    return _wrap("tree", body, tree_data(node))
