"""The review page's HTML, style and script (served by imgdupes.review).

File names are data: the script sets them as text (``textContent``) only,
and the server's Content-Security-Policy allows scripts, styles and images
from the page's own origin only.
"""

HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>imgdupes review</title>
<link rel="stylesheet" href="review.css">
</head>
<body>
<header>
<h1>imgdupes review</h1>
<p id="totals">Loading\u2026</p>
<div class="tools">
<button id="save" type="button">Save report</button>
<button id="dry" type="button">Apply (dry run)</button>
<button id="apply" type="button">Apply</button>
<span id="status"></span>
</div>
<p class="help">Click a picture to keep or remove it. Keys: <kbd>j</kbd>/<kbd>k</kbd> next and
previous set, <kbd>1</kbd>-<kbd>9</kbd> keep/remove that file, <kbd>c</kbd> compare side by side,
<kbd>x</kbd> not duplicates, <kbd>Esc</kbd> close.</p>
<pre id="output" hidden></pre>
</header>
<main id="sets"></main>
<div id="more">Loading sets\u2026</div>
<div id="compare" hidden>
<div class="bar"><span id="cmp-title"></span>
<span class="help">ctrl + wheel or \u2212 / + zoom both; the panes scroll together</span>
<button id="zoom-out" type="button">\u2212</button>
<button id="zoom-fit" type="button">fit</button>
<button id="zoom-in" type="button">+</button>
<button id="zoom-1" type="button">100%</button>
<button id="cmp-notdup" type="button">these two are not duplicates</button>
<button id="cmp-close" type="button">close (Esc)</button></div>
<div class="panes">
<div class="pane" id="pane-a"><img id="cmp-a" alt=""><p id="cmp-a-cap"></p></div>
<div class="pane" id="pane-b"><img id="cmp-b" alt=""><p id="cmp-b-cap"></p></div>
</div>
</div>
<script src="review.js"></script>
</body>
</html>
"""

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f4f4;color:#222}
header{padding:10px 20px;background:#222;color:#eee;position:sticky;top:0;z-index:2}
header h1{font-size:18px;margin:0 0 4px}
header p{margin:2px 0}
.help{color:#bbb;font-size:12px}
kbd{background:#444;border-radius:3px;padding:0 3px}
.tools button{margin-right:6px}
#status{margin-left:8px;color:#9fd}
#output{background:#111;color:#ddd;max-height:30vh;overflow:auto;padding:6px;font-size:12px}
main{padding:8px 20px}
section.set{background:#fff;margin:10px 0;padding:8px 12px;border-radius:6px;
 box-shadow:0 1px 2px rgba(0,0,0,.15);border-left:4px solid transparent}
section.set.current{border-left-color:#2a5f9f}
section.set.notdup{opacity:.55}
section.set h2{font-size:14px;margin:0 0 6px;color:#555}
section.set h2 button{margin-left:8px;font-size:12px}
.row{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0;width:210px;padding:6px;border:3px solid #ddd;border-radius:4px;
 background:#fafafa;cursor:pointer}
figure.keep{border-color:#2a8f3a;background:#effaf0}
figure.remove{border-color:#a33;background:#fbeeee}
figure.ref{border-color:#7a5a1a}
.thumb{width:200px;height:200px;display:flex;align-items:center;justify-content:center;
 background:#e6e6e6}
.thumb img{max-width:200px;max-height:200px}
figcaption{font-size:12px}
.badge{display:inline-block;font-size:11px;padding:0 4px;border-radius:3px;color:#fff;
 background:#2a8f3a;margin-left:4px}
.remove .badge{background:#a33}
.ref .badge{background:#7a5a1a}
.path{font-family:ui-monospace,monospace;margin:2px 0;word-break:break-all}
.info{color:#555}
#more{padding:20px;text-align:center;color:#777}
#compare{position:fixed;inset:0;background:rgba(0,0,0,.92);z-index:5;display:flex;
 flex-direction:column}
#compare[hidden]{display:none}
#compare .bar{color:#eee;padding:6px 12px}
.panes{flex:1;display:flex;gap:6px;min-height:0}
.pane{flex:1;overflow:auto;color:#ccc;font-size:12px}
.pane img{display:block}
header{z-index:2}
"""

JS = r"""
(function () {
  "use strict";
  var PAGE = 50, loaded = 0, total = null, loading = false, current = -1, zoom = 1;
  var main = document.getElementById("sets"), more = document.getElementById("more");
  var byIndex = {}, comparing = null;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function human(n) {
    var units = ["bytes", "kB", "MB", "GB"], i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return i ? n.toFixed(1) + " " + units[i] : n + " bytes";
  }
  function api(path, body) {
    var opts = body === undefined ? {} : {method: "POST", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json"}};
    return fetch(path, opts).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error(j.error || r.status);
        return j;
      });
    });
  }
  function showTotals(t) {
    total = t.total;
    document.getElementById("totals").textContent = t.total + " sets. As marked, " +
      t.removed + (t.removed === 1 ? " file goes" : " files go") + ", freeing " + human(t.freed) +
      " (" + t.freed + " bytes).";
    document.body.dataset.removed = String(t.removed);
  }
  function status(text) { document.getElementById("status").textContent = text; }
  function card(s, f, k) {
    var cls = f.reference ? "ref" : (f.keep ? "keep" : "remove");
    var fig = el("figure", cls);
    fig.dataset.path = f.path;
    fig.dataset.keep = f.keep ? "1" : "0";
    fig.dataset.file = String(k);
    fig.title = f.reason || "";
    var box = el("div", "thumb"), img = el("img");
    img.loading = "lazy";
    img.alt = f.path;
    img.src = "thumb/" + s.index + "/" + k;
    box.appendChild(img);
    fig.appendChild(box);
    var cap = el("figcaption");
    cap.appendChild(el("span", "num", "[" + (k + 1) + "]"));
    cap.appendChild(el("span", "badge",
      f.reference ? "reference, kept" : (f.keep ? "keep" : "remove")));
    cap.appendChild(el("div", "path", f.path));
    cap.appendChild(el("div", "info", human(f.size) + " \u00b7 " + f.width + "\u00d7" +
      f.height + " \u00b7 " + (f.width * f.height / 1e6).toFixed(2) + " MP \u00b7 distance " +
      f.distance));
    fig.appendChild(cap);
    fig.addEventListener("click", function () { toggle(s.index, k); });
    return fig;
  }
  function renderSet(s) {
    var sec = el("section", "set" + (s.not_duplicates ? " notdup" : ""));
    sec.id = "set-" + (s.index + 1);
    sec.dataset.index = String(s.index);
    var h = el("h2", "", "Set " + (s.index + 1) + " of " + total +
      (s.not_duplicates ? " \u2014 not duplicates" : ""));
    var cmp = el("button", "compare", "compare");
    cmp.type = "button";
    cmp.addEventListener("click", function () { compare(s.index); });
    var nd = el("button", "notdup", "not duplicates");
    nd.type = "button";
    nd.addEventListener("click", function () { notDuplicates(s.index); });
    h.appendChild(cmp);
    h.appendChild(nd);
    sec.appendChild(h);
    var row = el("div", "row");
    for (var k = 0; k < s.files.length; k++) row.appendChild(card(s, s.files[k], k));
    sec.appendChild(row);
    byIndex[s.index] = s;
    return sec;
  }
  function replaceSet(s) {
    var old = document.getElementById("set-" + (s.index + 1));
    var fresh = renderSet(s);
    if (s.index === current) fresh.classList.add("current");
    old.parentNode.replaceChild(fresh, old);
  }
  function loadMore() {
    if (loading || (total !== null && loaded >= total)) return Promise.resolve();
    loading = true;
    return api("api/sets?start=" + loaded + "&count=" + PAGE).then(function (page) {
      showTotals(page);
      var frag = document.createDocumentFragment();
      page.sets.forEach(function (s) { frag.appendChild(renderSet(s)); });
      main.appendChild(frag);
      loaded += page.sets.length;
      loading = false;
      more.textContent = loaded >= total ? (total ? "End of the sets." : "No duplicates.") : "";
      document.body.dataset.loaded = String(loaded);
      if (current < 0 && loaded) select(0);
      fill();
    }, function (e) { loading = false; more.textContent = "Cannot load sets: " + e.message; });
  }
  function fill() {
    if (more.getBoundingClientRect().top < window.innerHeight * 2) loadMore();
  }
  function toggle(si, k) {
    var f = byIndex[si].files[k];
    if (f.reference) { status("a --reference file is never removed"); return; }
    api("api/mark", {set: si, file: k, keep: !f.keep}).then(function (r) {
      showTotals(r);
      replaceSet(r.set);
      status("set " + (si + 1) + ": [" + (k + 1) + "] " +
        (r.set.files[k].keep ? "kept" : "removed"));
    }, function (e) { status(e.message); });
  }
  function notDuplicates(si, files) {
    var body = files ? {set: si, files: files} : {set: si};
    api("api/notdup", body).then(function (r) {
      showTotals(r);
      replaceSet(r.set);
      status("set " + (si + 1) + (files ? ": two files" : "") + " marked not duplicates" +
        (r.remembered ? " (remembered)" : " (not remembered: no hash cache)"));
    }, function (e) { status(e.message); });
  }
  function select(i) {
    if (i < 0 || (total !== null && i >= total)) return;
    var go = function () {
      var sec = document.getElementById("set-" + (i + 1));
      if (!sec) return;
      var old = document.querySelector("section.current");
      if (old) old.classList.remove("current");
      sec.classList.add("current");
      current = i;
      document.body.dataset.current = String(i);
      sec.scrollIntoView({block: "nearest"});
    };
    if (i >= loaded) loadMore().then(go); else go();
  }
  function setZoom(z, natural) {
    // z: times the pane's width, both pictures alike (a half-size copy is shown
    // as large as its original, so the eye compares detail); natural: 1:1 pixels
    zoom = z;
    ["cmp-a", "cmp-b"].forEach(function (id) {
      var img = document.getElementById(id);
      img.style.maxWidth = "none";
      img.style.width = natural ? img.naturalWidth + "px" : Math.round(z * 100) + "%";
    });
  }
  function compare(si) {
    var s = byIndex[si], files = s.files;
    var a = 0, b = files.length > 1 ? 1 : 0;
    for (var k = 0; k < files.length; k++) if (files[k].keep) { a = k; break; }
    for (k = 0; k < files.length; k++) if (k !== a) { b = k; if (!files[k].keep) break; }
    var pick = [[a, "cmp-a"], [b, "cmp-b"]];
    comparing = [si, a, b];
    pick.forEach(function (p) {
      var f = files[p[0]];
      document.getElementById(p[1]).src = "full/" + si + "/" + p[0];
      document.getElementById(p[1] + "-cap").textContent = "[" + (p[0] + 1) + "] " + f.path +
        " \u00b7 " + f.width + "\u00d7" + f.height + " \u00b7 " + (f.keep ? "keep" : "remove");
    });
    document.getElementById("cmp-title").textContent = "Set " + (si + 1) + ": side by side";
    document.getElementById("compare").hidden = false;
    setZoom(1);
  }
  function closeCompare() { document.getElementById("compare").hidden = true; }
  var paneA = document.getElementById("pane-a"), paneB = document.getElementById("pane-b");
  paneA.addEventListener("scroll", function () {
    paneB.scrollTop = paneA.scrollTop; paneB.scrollLeft = paneA.scrollLeft;
  });
  document.getElementById("zoom-in").addEventListener("click", function () {
    setZoom(Math.min(16, zoom * 1.5));
  });
  document.getElementById("zoom-out").addEventListener("click", function () {
    setZoom(Math.max(0.1, zoom / 1.5));
  });
  document.getElementById("zoom-fit").addEventListener("click", function () { setZoom(1); });
  document.getElementById("zoom-1").addEventListener("click", function () { setZoom(1, true); });
  document.getElementById("compare").addEventListener("wheel", function (ev) {
    if (!ev.ctrlKey) return;  // ctrl + wheel zooms both pictures
    ev.preventDefault();
    setZoom(Math.max(0.1, Math.min(16, zoom * (ev.deltaY < 0 ? 1.25 : 0.8))));
  }, {passive: false});
  document.getElementById("cmp-close").addEventListener("click", closeCompare);
  document.getElementById("cmp-notdup").addEventListener("click", function () {
    if (comparing) notDuplicates(comparing[0], [comparing[1], comparing[2]]);
    closeCompare();
  });
  function output(text) {
    var pre = document.getElementById("output");
    pre.hidden = false;
    pre.textContent = text;
  }
  document.getElementById("save").addEventListener("click", function () {
    api("api/save", {}).then(function (r) { status("saved " + r.saved); },
      function (e) { status(e.message); });
  });
  function applyReport(dry) {
    api("api/apply", {dry_run: dry}).then(function (r) {
      output(r.output);
      status((dry ? "dry run done; " : "applied; ") + "report saved as " + r.saved);
      document.body.dataset.applied = dry ? "dry" : "real";
    }, function (e) { status(e.message); });
  }
  document.getElementById("dry").addEventListener("click", function () { applyReport(true); });
  document.getElementById("apply").addEventListener("click", function () {
    var n = document.body.dataset.removed;
    var ask = "Remove the " + n + " files marked \u201cremove\u201d now?";
    if (window.confirm(ask)) applyReport(false);
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var open = !document.getElementById("compare").hidden;
    if (ev.key === "Escape") { closeCompare(); return; }
    if (open) return;
    if (ev.key === "j" || ev.key === "ArrowDown") { select(current + 1); ev.preventDefault(); }
    else if (ev.key === "k" || ev.key === "ArrowUp") { select(current - 1); ev.preventDefault(); }
    else if (ev.key === "c" && current >= 0) compare(current);
    else if (ev.key === "x" && current >= 0) notDuplicates(current);
    else if (/^[1-9]$/.test(ev.key) && current >= 0) {
      var k = parseInt(ev.key, 10) - 1;
      if (byIndex[current] && k < byIndex[current].files.length) toggle(current, k);
    }
  });
  window.addEventListener("scroll", fill, {passive: true});
  window.addEventListener("resize", fill);
  loadMore();
})();
"""
