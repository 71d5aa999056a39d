"""The HTML report, checked in a real browser: headless Chromium (the Debian package), network cut.

Each sample's report is loaded from a file: no request leaves the page, no console error, the treemap and one
bar per layer are drawn, a real click on a directory zooms in and Up zooms out, a click on a layer bar lists its
changes. A screenshot of each stays in the test's tmp dir. Hostile paths (``</script>``, U+2028) stay text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import imgscope
from imgscope.cli import main
from imgscope.render.html import _size as html_size
from imgscope.render.html import diff_html, json_blob, report_html
from tests.cdp import CHROMIUM, Browser
from tests.conftest import SAMPLES, analysis_of

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")

REPORTS = [
    "cases/docker-archive.tar",
    "cases/oci-zstd",
    "cases-vfs/docker-archive.tar",
    "advise.tar",
    "hostile-names.tar",
]
# Where node j of the page's tree sits, in JavaScript (t: the tree columns).
PATH_JS = (
    "const path = j => { let p = []; while (j > 0) { p.unshift(t.n[j]); j = t.p[j]; } return '/' + p.join('/'); };"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        b.send("Network.enable")
        b.send("Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1)
        b.send("Runtime.enable")
        b.send("Log.enable")
        b.send("Page.enable")
        yield b
    finally:
        b.close()


def load(browser: Browser, page: Path) -> list[dict[str, Any]]:
    """Open ``page``; the events (requests, console messages, exceptions) seen while it loaded."""
    browser.events.clear()
    browser.send("Page.navigate", url=page.as_uri())
    browser.wait_event("Page.loadEventFired")
    browser.evaluate("new Promise(r => requestAnimationFrame(() => r(1)))")
    return list(browser.events)


def problems(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        m, p = e["method"], e.get("params", {})
        if m == "Runtime.exceptionThrown":
            out.append(f"exception: {p['exceptionDetails']}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning", "assert"):
            out.append(f"console.{p['type']}: {p.get('args')}")
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            out.append(f"log: {p['entry']}")
        elif m == "Network.requestWillBeSent" and not p["request"]["url"].startswith(("file:", "data:")):
            out.append(f"network request: {p['request']['url']}")
    return out


def center(browser: Browser, selector: str) -> tuple[float, float]:
    box = browser.evaluate(
        f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
        " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()"
    )
    return float(box[0]), float(box[1])


@pytest.mark.parametrize("sample", REPORTS)
def test_report_in_chromium(sample: str, browser: Browser, tmp_path: Path) -> None:
    a = analysis_of(sample)
    page = tmp_path / "report.html"
    page.write_text(report_html(a, imgscope.advice(a)), encoding="utf-8")
    events = load(browser, page)
    assert problems(events) == []
    assert browser.evaluate("document.querySelector('.imgscope-r').dataset.imgscopeReady") == "1"
    # The cards name what they show: the content bytes of the layers are not called stored (that is stored_size).
    cards = browser.evaluate(
        "Object.fromEntries([...document.querySelectorAll('.card')].map(c => [c.querySelector('span').textContent,"
        " c.querySelector('b').firstChild.textContent]))"
    )
    assert "Stored" not in cards and cards["Content"].replace("\xa0", " ") == html_size(a.summary.size)
    # One bar per layer, in order.
    bars = browser.evaluate("[...document.querySelectorAll('.lb-row')].map(e => e.dataset.layer)")
    assert bars == [str(r.index) for r in a.layers]
    # The treemap: every top-level directory holding visible bytes has a node, cells are drawn.
    cells = browser.evaluate("document.querySelectorAll('.tm-box svg .tm-cell').length")
    assert cells > 0
    # The treemap: the root's entries hold every visible byte ("other" groups included) and every wasted one;
    # each top-level directory with 1% of the bytes or more is its own entry.
    tree = browser.evaluate("JSON.parse(document.querySelector('script.imgscope-data').textContent).tree")
    top = [i for i, p in enumerate(tree["p"]) if p == 0]
    assert sum(tree["s"][i] for i in top) == a.summary.final_size
    assert sum(tree["w"][i] for i in top) == a.summary.wasted_bytes
    per_top: dict[str, int] = {}
    for f in a.files:
        if f.size and f.record >= 0 and f.path.count("/") > 1:
            per_top[f.path.split("/")[1]] = per_top.get(f.path.split("/")[1], 0) + f.size
    big = {name for name, n in per_top.items() if n >= a.summary.final_size / 100}
    assert big <= {tree["n"][i] for i in top}

    # A real click on the largest top-level directory drawn as a frame zooms into it; Up zooms out.
    frame = browser.evaluate(
        "(() => { const g = document.querySelector('.tm-box svg g.tm-dir');"
        " if (!g) return null; g.id = 'clickme'; const t = JSON.parse("
        "document.querySelector('script.imgscope-data').textContent).tree; let i = +g.dataset.i, p = [];"
        " while (i > 0) { p.unshift(t.n[i]); i = t.p[i]; } return '/' + p.join('/'); })()"
    )
    if frame is not None:
        assert browser.evaluate("document.querySelector('.tm-box').dataset.root") == "/"
        browser.click(*center(browser, "#clickme"))
        assert browser.evaluate("document.querySelector('.tm-box').dataset.root") == frame
        assert browser.evaluate("document.querySelector('.tm-up').disabled") is False
        crumbs = browser.evaluate("document.querySelector('.tm-crumbs').textContent")
        assert frame.rsplit("/", 1)[1] in crumbs
        browser.click(*center(browser, ".tm-up"))
        assert browser.evaluate("document.querySelector('.tm-box').dataset.root") == "/"

    # A click on the largest layer's bar lists its changes, largest first.
    largest = max(a.layers, key=lambda r: (r.size, -r.index))
    browser.click(*center(browser, f'.lb-row[data-layer="{largest.index}"]'))
    assert browser.evaluate("getComputedStyle(document.querySelector('.lc')).display") == "block"
    listed = browser.evaluate("[...document.querySelectorAll('.lc td.path')].map(e => e.textContent)")
    changes = sorted(largest.changes, key=lambda c: (-c.size, c.path))
    assert len(listed) == min(len(changes), 150)
    if changes:
        assert listed[0] in {c.path for c in changes if c.size == changes[0].size}
    assert problems(browser.events) == []
    browser.screenshot(tmp_path / "screenshot.png")  # last: the full-page capture resizes the page
    assert (tmp_path / "screenshot.png").stat().st_size > 1000


def test_hostile_paths_stay_text(browser: Browser, tmp_path: Path) -> None:
    """Paths and commands written to break out of the script element or the markup are shown as text."""
    a = analysis_of("hostile-names.tar")
    hostile = "/</script><script>alert(1)</script>/payload.js"
    assert hostile in {f.path for f in a.files}
    text = report_html(a, imgscope.advice(a))
    assert text.count("</script>") == text.count("<script")  # only our own elements close
    assert "\u2028" not in text and "\u2029" not in text
    page = tmp_path / "hostile.html"
    page.write_text(text, encoding="utf-8")
    events = load(browser, page)
    assert problems(events) == []
    assert browser.evaluate("document.querySelectorAll('script').length") == 2  # the data blob and the page script
    body = browser.evaluate("document.body.innerText")
    assert hostile in body  # the largest-files table shows the path as it is
    assert "alert(2)" in body  # the layer command, as text
    data = browser.evaluate("JSON.parse(document.querySelector('script.imgscope-data').textContent)")
    names = data["tree"]["n"]
    assert [n for n in names if n in ("<", "script><script>alert(1)<", "script>", "payload.js")] == [
        "<",
        "script><script>alert(1)<",
        "script>",
        "payload.js",
    ]
    assert "line\u2028sep\u2029para.txt" in names
    # Click down to the file (each click zooms one level), then hover it: the tooltip shows its path as text.
    target = names.index("payload.js")
    for _ in range(4):
        step = browser.evaluate(
            f"(() => {{ const t = JSON.parse(document.querySelector('script.imgscope-data').textContent).tree;"
            f" if (document.querySelector('.tm-box g[data-i=\"{target}\"]')) return 'drawn';"
            f" let i = {target}; const root = document.querySelector('.tm-box').dataset.root;"
            f" {PATH_JS}"
            f" while (t.p[i] > 0 && path(t.p[i]) !== root) i = t.p[i];"
            f" document.querySelector(`.tm-box g[data-i='${{i}}']`).id = 'next'; return 'zoom'; }})()"
        )
        if step == "drawn":
            break
        browser.click(*center(browser, "#next"))
        browser.evaluate("document.getElementById('next') && document.getElementById('next').removeAttribute('id')")
    browser.evaluate(f"document.querySelector('.tm-box g[data-i=\"{target}\"]').id = 'hostile'")
    x, y = center(browser, "#hostile")
    browser.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
    assert browser.evaluate("document.querySelector('.tm-tip-path').textContent") == hostile
    assert browser.evaluate("document.querySelectorAll('script').length") == 2


def test_json_blob_escapes() -> None:
    """Every character that could end the element or a JavaScript string is escaped, and reads back the same."""
    value = {"p": "</script><script>alert(1)</script><!-- \u2028\u2029 & \udcff é"}
    blob = json_blob(value)
    inner = re.fullmatch(r'<script type="application/json" class="imgscope-data">(.*)</script>', blob)
    assert inner is not None
    assert not re.search(r"[<>&\u2028\u2029]|[^\x00-\x7f]", inner.group(1))
    assert json.loads(inner.group(1)) == value


def test_report_cli(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["report", str(SAMPLES / "advise.tar"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "localhost/wasteful:latest" in text
    assert not re.search(r"(src|href)=\"(https?:)?//", text)  # nothing fetched from anywhere
    bad = CliRunner().invoke(main, ["report", str(tmp_path / "missing.tar"), "-o", str(tmp_path / "x.html")])
    assert bad.exit_code == 2
    assert not (tmp_path / "x.html").exists()
    assert len(bad.output.strip().splitlines()) == 1


def test_diff_page_in_chromium(browser: Browser, tmp_path: Path) -> None:
    """``diff --html``: both images side by side (a treemap and bars each), what grew and shrank."""
    a, b = analysis_of("cases/docker-archive.tar"), analysis_of("cases-vfs/docker-archive.tar")
    d = imgscope.diff(a, b)
    page = tmp_path / "diff.html"
    page.write_text(diff_html(d, a, b), encoding="utf-8")
    assert problems(load(browser, page)) == []
    for side, x in (("a", a), ("b", b)):
        bars = browser.evaluate(f"[...document.querySelectorAll('.side-{side} .lb-row')].map(e => e.dataset.layer)")
        assert bars == [str(r.index) for r in x.layers]
        assert browser.evaluate(f"document.querySelectorAll('.side-{side} .tm-box svg .tm-cell').length") > 0
    text = browser.evaluate("document.body.innerText")
    for group in d.directories[:5]:
        assert group.path in text
    # Zooming one side leaves the other where it was.
    browser.evaluate("document.querySelector('.side-a .tm-box g.tm-dir').id = 'zoom-a'")
    browser.click(*center(browser, "#zoom-a"))
    assert browser.evaluate("document.querySelector('.side-a .tm-box').dataset.root") != "/"
    assert browser.evaluate("document.querySelector('.side-b .tm-box').dataset.root") == "/"
    assert problems(browser.events) == []
    browser.screenshot(tmp_path / "diff.png")


def test_analyze_and_diff_write_html_and_ncdu(tmp_path: Path) -> None:
    advise = str(SAMPLES / "advise.tar")
    html, ncdu = tmp_path / "a.html", tmp_path / "a.json"
    result = CliRunner().invoke(main, ["analyze", advise, "--html", str(html), "--ncdu", str(ncdu)])
    assert result.exit_code == 0, result.output
    assert "Layers and history" in result.output  # the usual report still goes to stdout
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert json.loads(ncdu.read_text(encoding="utf-8"))[:2] == [1, 2]
    after = CliRunner().invoke(main, ["analyze", advise, "--ncdu", "-", "--layer", "2"])
    assert after.exit_code == 0
    assert "(after layer 2)" in json.loads(after.stdout)[2]["image"]
    for bad in (["--layer", "2"], ["--ncdu", str(tmp_path / "n.json"), "--layer", "99"]):
        out = CliRunner().invoke(main, ["analyze", advise, *bad])
        assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1, out.output
    assert not (tmp_path / "n.json").exists()
    page = tmp_path / "d.html"
    a, b = SAMPLES / "cases/docker-archive.tar", SAMPLES / "cases-vfs/docker-archive.tar"
    d = CliRunner().invoke(main, ["diff", str(a), str(b), "--html", str(page)])
    assert d.exit_code == 0, d.output
    text = page.read_text(encoding="utf-8")
    assert 'class="side-a"' in text and 'class="side-b"' in text and "localhost/cases-vfs:1" in text


def test_report_lists_the_packages(browser: Browser, tmp_path: Path) -> None:
    """The packages sample (databases written by dpkg, rpm, apk, pip, npm): the report's packages table holds
    each package the library reports, largest first, and the page still loads cleanly."""
    page = tmp_path / "packages.html"
    result = CliRunner().invoke(main, ["report", str(SAMPLES / "packages/oci"), "-o", str(page)])
    assert result.exit_code == 0, result.output
    assert problems(load(browser, page)) == []
    report = imgscope.packages_of(SAMPLES / "packages/oci")
    assert report.packages
    rows = browser.evaluate(
        "[...document.querySelectorAll('h3')].find(h => h.textContent.startsWith('Packages'))"
        ".nextElementSibling.nextElementSibling.querySelectorAll('tr').length"
    )
    assert rows == 1 + min(len(report.packages), 100)
    names = browser.evaluate(
        "[...[...document.querySelectorAll('h3')].find(h => h.textContent.startsWith('Packages'))"
        ".nextElementSibling.nextElementSibling.querySelectorAll('tr')].slice(1).map(r => r.cells[1].textContent)"
    )
    assert names == [p.name for p in report.packages[:100]]
    browser.screenshot(tmp_path / "packages.png")


def test_report_size_is_bounded(tmp_path: Path) -> None:
    """The page's size does not grow with the image: 250 layers of 240 files with long paths (60,000 files, the
    tars written by the hostile corpus' tar writer) give a page far under 2 MB, the treemap within its budget."""
    from tests.hostile.make_corpus import directory, docker_archive, member, tar

    layers = []
    for n in range(250):
        folder = f"data/{'d' * 120}{n:03}"
        files = [
            member(f"{'f' * 90}{n:03}-{i:03}", bytes([n % 256]) * (1 + i), prefix=folder.encode()) for i in range(240)
        ]
        layers.append(tar(directory("data/"), directory(folder + "/"), *files))
    image = tmp_path / "many.tar"
    image.write_bytes(docker_archive(layers))
    a = imgscope.analyze(image)
    assert a.summary.file_count > 60_000 and len(a.layers) == 250
    assert max(len(f.path) for f in a.files) > 200
    page = report_html(a, imgscope.advice(a))
    assert len(page.encode()) < 2_000_000
    blob = re.search(r'<script type="application/json" class="imgscope-data">(.*?)</script>', page, re.S)
    assert blob is not None
    data = json.loads(blob.group(1))
    assert len(data["tree"]["n"]) <= 6000
    assert [layer["cn"] for layer in data["layers"]] == [len(r.changes) for r in a.layers]
