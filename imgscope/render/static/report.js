/* imgscope report: a zoomable squarified treemap and per-layer bars. No dependency, no network.
   Every string from the image goes into the page through textContent or setAttribute, never as markup. */
(function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";

  function fmt(n) {
    var u = ["B", "kB", "MB", "GB", "TB"], i = 0, x = Math.abs(n);
    while (x >= 1000 && i < u.length - 1) { x /= 1000; i++; }
    return (n < 0 ? "-" : "") + (i ? x.toFixed(1) : String(x)) + " " + u[i];
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function layerColour(i) {
    if (i < 0) return "#b8bec6";
    return "hsl(" + ((i * 67 + 200) % 360) + ",58%," + (i % 2 ? 60 : 70) + "%)";
  }

  /* Squarified treemap (Bruls, Huizing, van Wijk): items sorted by value, largest first. */
  function squarify(values, x, y, w, h) {
    var out = new Array(values.length), total = 0, i;
    for (i = 0; i < values.length; i++) total += values[i];
    if (total <= 0 || w <= 0 || h <= 0) return out;
    var scale = (w * h) / total;
    i = 0;
    while (i < values.length) {
      var side = Math.min(w, h), start = i, sum = 0, mx = 0, mn = Infinity, worst = Infinity;
      while (i < values.length) {
        var a = values[i] * scale, s2 = sum + a, mx2 = Math.max(mx, a), mn2 = Math.min(mn, a);
        var r = Math.max((side * side * mx2) / (s2 * s2), (s2 * s2) / (side * side * mn2));
        if (i > start && r > worst) break;
        sum = s2; mx = mx2; mn = mn2; worst = r; i++;
      }
      var thick = sum / side, pos = 0, j, len;
      for (j = start; j < i; j++) {
        len = (values[j] * scale) / thick;
        out[j] = w >= h ? [x, y + pos, thick, len] : [x + pos, y, len, thick];
        pos += len;
      }
      if (w >= h) { x += thick; w -= thick; } else { y += thick; h -= thick; }
    }
    return out;
  }

  function Tree(t) {
    var n = t.n.length, kids = new Array(n), i;
    for (i = 0; i < n; i++) kids[i] = [];
    for (i = 1; i < n; i++) kids[t.p[i]].push(i);
    this.t = t; this.kids = kids;
  }
  Tree.prototype.value = function (i, waste) { return this.t.s[i] + (waste ? this.t.w[i] : 0); };
  Tree.prototype.path = function (i) {
    var parts = [];
    while (i > 0) { parts.push(this.t.n[i]); i = this.t.p[i]; }
    return "/" + parts.reverse().join("/");
  };

  /* One treemap in `host`: zoom by clicking a directory, out with the breadcrumb or the Up button. */
  function Treemap(host, t, layers, opts) {
    var self = this;
    this.tree = new Tree(t); this.layers = layers || []; this.opts = opts || {};
    this.root = 0; this.waste = true; this.highlight = -1; this.id = "isc" + Math.random().toString(36).slice(2);
    var bar = el("div", "tm-bar");
    this.up = el("button", "tm-up", "\u2191 Up"); this.up.type = "button";
    this.crumbs = el("span", "tm-crumbs");
    var label = el("label", "tm-waste"), box = el("input");
    box.type = "checkbox"; box.checked = true;
    label.appendChild(box); label.appendChild(document.createTextNode(" wasted bytes (hatched)"));
    bar.appendChild(this.up); bar.appendChild(this.crumbs); bar.appendChild(label);
    this.box = el("div", "tm-box");
    this.tip = el("div", "tm-tip"); this.tip.style.display = "none";
    host.appendChild(bar); host.appendChild(this.box); host.appendChild(this.tip);
    this.host = host;
    this.up.addEventListener("click", function () { self.zoom(self.root ? self.tree.t.p[self.root] : 0); });
    box.addEventListener("change", function () { self.waste = box.checked; self.draw(); });
    this.box.addEventListener("click", function (ev) { self.click(ev); });
    this.box.addEventListener("mousemove", function (ev) { self.hover(ev); });
    this.box.addEventListener("mouseleave", function () { self.tip.style.display = "none"; });
    var width = this.box.clientWidth, timer = 0;
    window.addEventListener("resize", function () {  /* redraw at the new width, once the resizing settles */
      clearTimeout(timer);
      timer = setTimeout(function () { if (self.box.clientWidth !== width) { width = self.box.clientWidth; self.draw(); } }, 150);
    });
    this.draw();
  }
  Treemap.prototype.zoom = function (i) { this.root = i; this.draw(); };
  Treemap.prototype.nodeAt = function (ev) {
    var e = ev.target;
    while (e && e !== this.box) {
      if (e.getAttribute && e.getAttribute("data-i") !== null) return +e.getAttribute("data-i");
      e = e.parentNode;
    }
    return -1;
  };
  Treemap.prototype.click = function (ev) {
    var i = this.nodeAt(ev), t = this.tree.t;
    if (i < 0) return;
    while (i > 0 && t.p[i] !== this.root) i = t.p[i];  /* the child of the current root that holds the click */
    if (i > 0 && this.tree.kids[i].length) this.zoom(i);
  };
  Treemap.prototype.hover = function (ev) {
    var i = this.nodeAt(ev), t = this.tree.t, tip = this.tip;
    if (i < 0) { tip.style.display = "none"; return; }
    while (tip.firstChild) tip.removeChild(tip.firstChild);
    var kind = t.k[i], head = kind === 2 ? this.tree.path(t.p[i]) + "/" + t.n[i] : this.tree.path(i);
    tip.appendChild(el("div", "tm-tip-path", head));
    var line = fmt(t.s[i]) + (kind === 0 ? " in this directory" : "");
    if (t.w[i]) line += "; " + fmt(t.w[i]) + " wasted";
    tip.appendChild(el("div", "", line));
    if (t.l[i] >= 0) {
      var cmd = this.layers[t.l[i]] ? this.layers[t.l[i]].cmd : "";
      tip.appendChild(el("div", "tm-tip-layer", (kind === 1 ? "written by layer " : "mostly layer ") + t.l[i] + (cmd ? ": " + cmd : "")));
    }
    var r = this.host.getBoundingClientRect();
    var x = ev.clientX - r.left + 14, y = ev.clientY - r.top + 14;
    tip.style.display = "block";
    if (x + tip.offsetWidth > r.width) x = Math.max(0, ev.clientX - r.left - tip.offsetWidth - 10);
    tip.style.left = x + "px"; tip.style.top = y + "px";
  };
  Treemap.prototype.draw = function () {
    var self = this, tree = this.tree, t = tree.t, waste = this.waste;
    while (this.crumbs.firstChild) this.crumbs.removeChild(this.crumbs.firstChild);
    var chain = [], i = this.root;
    while (true) { chain.push(i); if (i === 0) break; i = t.p[i]; }
    chain.reverse().forEach(function (j, k) {
      var a = el("a", "tm-crumb", j === 0 ? "/" : t.n[j]);
      a.href = "#"; a.setAttribute("data-zoom", String(j));
      a.addEventListener("click", function (ev) { ev.preventDefault(); self.zoom(j); });
      if (k > 1) self.crumbs.appendChild(document.createTextNode("/"));
      self.crumbs.appendChild(a);
    });
    this.crumbs.appendChild(document.createTextNode("  " + fmt(tree.value(this.root, waste))));
    this.up.disabled = this.root === 0;
    var W = Math.max(200, this.box.clientWidth || 800), H = this.opts.height || 420;
    var s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, "class": "tm-svg" });
    var defs = svg("defs", {}), pat = svg("pattern", { id: this.id + "h", width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" });
    pat.appendChild(svg("rect", { width: 6, height: 6, fill: "#f6d5d5" }));
    pat.appendChild(svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#c0392b", "stroke-width": 3 }));
    defs.appendChild(pat); s.appendChild(defs);
    var budget = { n: 4000 };
    this.layout(s, this.root, 0, 0, W, H, 0, budget);
    while (this.box.firstChild) this.box.removeChild(this.box.firstChild);
    this.box.appendChild(s);
    this.box.setAttribute("data-root", tree.path(this.root));
  };
  Treemap.prototype.layout = function (s, node, x, y, w, h, depth, budget) {
    var tree = this.tree, t = tree.t, waste = this.waste, kids = [], j;
    for (j = 0; j < tree.kids[node].length; j++) {
      var c = tree.kids[node][j];
      if (tree.value(c, waste) > 0) kids.push(c);
    }
    kids.sort(function (a, b) { return tree.value(b, waste) - tree.value(a, waste); });
    var rects = squarify(kids.map(function (c) { return tree.value(c, waste); }), x, y, w, h);
    for (j = 0; j < kids.length && budget.n > 0; j++) {
      var c2 = kids[j], r = rects[j];
      if (!r || r[2] < 1 || r[3] < 1) continue;
      budget.n--;
      var g = svg("g", { "data-i": c2, "class": t.k[c2] === 0 ? "tm-dir" : "tm-leaf" });
      s.appendChild(g);
      var open = t.k[c2] === 0 && tree.kids[c2].length && depth < 3 && r[2] > 40 && r[3] > 34;
      if (open) {
        g.appendChild(svg("rect", { x: r[0], y: r[1], width: r[2], height: r[3], "class": "tm-frame" }));
        this.label(g, t.n[c2] + "/", r[0] + 3, r[1] + 12, r[2] - 6);
        this.layout(s, c2, r[0] + 2, r[1] + 16, r[2] - 4, r[3] - 18, depth + 1, budget);
      } else {
        this.leaf(g, c2, r);
      }
    }
  };
  Treemap.prototype.leaf = function (g, i, r) {
    var t = this.tree.t, total = this.tree.value(i, this.waste);
    var dim = this.highlight >= 0 && t.l[i] !== this.highlight;
    var rect = svg("rect", { x: r[0], y: r[1], width: r[2], height: r[3], fill: layerColour(t.l[i]), "class": "tm-cell" + (t.k[i] === 2 ? " tm-other" : "") });
    if (dim) rect.setAttribute("opacity", "0.18");
    g.appendChild(rect);
    if (this.waste && t.w[i] > 0 && total > 0) {
      var frac = t.w[i] / total, hw = r[2] >= r[3];
      g.appendChild(svg("rect", hw
        ? { x: r[0] + r[2] * (1 - frac), y: r[1], width: r[2] * frac, height: r[3], fill: "url(#" + this.id + "h)", "class": "tm-wasted" }
        : { x: r[0], y: r[1] + r[3] * (1 - frac), width: r[2], height: r[3] * frac, fill: "url(#" + this.id + "h)", "class": "tm-wasted" }));
    }
    if (r[2] > 36 && r[3] > 14) this.label(g, t.n[i] + (t.k[i] === 0 ? "/" : ""), r[0] + 3, r[1] + 12, r[2] - 6);
  };
  Treemap.prototype.label = function (g, text, x, y, width) {
    var max = Math.floor(width / 6.2);
    if (max < 2) return;
    if (text.length > max) text = text.slice(0, max - 1) + "\u2026";
    var e = svg("text", { x: x, y: y, "class": "tm-label" });
    e.textContent = text;
    g.appendChild(e);
  };
  Treemap.prototype.setHighlight = function (layer) { this.highlight = layer; this.draw(); };

  /* One bar per layer: added and modified bytes, the share of them wasted later hatched on top. */
  function Bars(host, layers, panel, onSelect) {
    var max = 1, selected = -1;
    layers.forEach(function (L) { max = Math.max(max, L.ab + L.mb); });
    var rows = [];
    layers.forEach(function (L) {
      var row = el("div", "lb-row"); row.setAttribute("data-layer", String(L.i)); row.tabIndex = 0;
      row.appendChild(el("span", "lb-idx", "#" + L.i));
      var track = el("span", "lb-track"), total = L.ab + L.mb;
      var add = el("span", "lb-seg lb-added"); add.style.width = (100 * L.ab / max) + "%"; add.style.background = layerColour(L.i);
      var mod = el("span", "lb-seg lb-modified"); mod.style.width = (100 * L.mb / max) + "%"; mod.style.background = layerColour(L.i);
      track.appendChild(add); track.appendChild(mod);
      if (L.wb > 0) {
        var w = el("span", "lb-wasted"); w.style.width = (100 * Math.min(L.wb, total || L.wb) / max) + "%";
        w.style.left = (100 * Math.max(0, total - L.wb) / max) + "%"; track.appendChild(w);
      }
      row.appendChild(track);
      row.appendChild(el("span", "lb-size", fmt(L.size)));
      row.appendChild(el("span", "lb-cmd", L.cmd || "(no history entry)"));
      row.title = "+" + fmt(L.ab) + " added (" + L.a + "), ~" + fmt(L.mb) + " modified (" + L.m + "), -" + L.r +
        " removed; " + fmt(L.wb) + " of what it wrote is wasted";
      function pick() {
        selected = selected === L.i ? -1 : L.i;
        rows.forEach(function (r) { r.classList.toggle("lb-selected", +r.getAttribute("data-layer") === selected); });
        showChanges(panel, selected < 0 ? null : L);
        if (onSelect) onSelect(selected);
      }
      row.addEventListener("click", pick);
      row.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); pick(); } });
      rows.push(row); host.appendChild(row);
    });
  }
  function showChanges(panel, L) {
    while (panel.firstChild) panel.removeChild(panel.firstChild);
    if (!L) { panel.style.display = "none"; return; }
    panel.style.display = "block";
    panel.appendChild(el("h4", "", "Layer " + L.i + ": " + L.a + " added, " + L.m + " modified, " + L.r + " removed"));
    if (L.cmd) panel.appendChild(el("pre", "lc-cmd", L.cmd));
    var table = el("table", "lc-table"), head = el("tr");
    ["", "Size", "Path"].forEach(function (h) { head.appendChild(el("th", "", h)); });
    table.appendChild(head);
    L.c.forEach(function (c) {
      var tr = el("tr", "lc-" + c[0]);
      tr.appendChild(el("td", "lc-kind", { a: "+", m: "~", r: "-" }[c[0]] || "?"));
      tr.appendChild(el("td", "num", fmt(c[1])));
      tr.appendChild(el("td", "path", c[2]));
      table.appendChild(tr);
    });
    panel.appendChild(table);
    if (L.cn > L.c.length) panel.appendChild(el("p", "more", "\u2026 and " + (L.cn - L.c.length) + " more changes (largest shown)"));
  }

  function mountSide(host, side) {
    var tmHost = host.querySelector(".tm"), barsHost = host.querySelector(".lb"), panel = host.querySelector(".lc");
    var tm = tmHost ? new Treemap(tmHost, side.tree, side.layers, {}) : null;
    if (barsHost && side.layers) new Bars(barsHost, side.layers, panel, function (i) { if (tm) tm.setHighlight(i); });
    return tm;
  }

  function mount(root) {
    root.setAttribute("data-imgscope-done", "1");
    var blob = root.querySelector("script.imgscope-data");
    if (!blob) return;
    var data = JSON.parse(blob.textContent);
    if (data.kind === "diff") {
      mountSide(root.querySelector(".side-a"), data.a);
      mountSide(root.querySelector(".side-b"), data.b);
    } else if (data.kind === "tree") {
      new Treemap(root.querySelector(".tm"), data.tree, [], { height: 360 });
    } else {
      mountSide(root, data);
    }
    root.setAttribute("data-imgscope-ready", "1");
  }
  function mountAll() {
    var roots = document.querySelectorAll(".imgscope-r[data-imgscope]:not([data-imgscope-done])");
    for (var i = 0; i < roots.length; i++) {
      try { mount(roots[i]); } catch (e) { roots[i].setAttribute("data-imgscope-error", String(e)); throw e; }
    }
  }
  window.imgscopeMount = mountAll;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})();
