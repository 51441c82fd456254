
(function () {
  "use strict";
  // Runs while the page is still being read: the first block of sets sits
  // right above this script, the others below it are read once the whole
  // page is in (DOMContentLoaded), so the first sets show at once.
  var doc = JSON.parse(document.getElementById("report-data").textContent);
  var total = doc.total, sets = doc.sets, blocksRead = 0;
  var main = document.getElementById("sets");
  var sentinel = document.getElementById("more"), next = 0;
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function available(k) {
    // sets[k] is known, reading the next block of data if the page has it
    while (k >= sets.length) {
      if (document.readyState === "loading") return false;
      var blocks = document.getElementsByClassName("report-sets");
      if (blocksRead >= blocks.length) return false;
      var more = JSON.parse(blocks[blocksRead++].textContent);
      for (var i = 0; i < more.length; i++) sets.push(more[i]);
    }
    return true;
  }
  function card(f, label, cls) {
    var fig = el("figure", cls || (f.k ? "keep" : ""));
    var name = f.n === undefined ? f.p : f.n;
    fig.dataset.path = f.p;
    var box = el("div", "thumb");
    if (f.t) {
      var img = el("img");
      img.alt = label + " " + name;
      img.decoding = "async";
      img.onload = function () { img.dataset.state = "ok"; };
      img.onerror = function () {
        img.dataset.state = "error";
        box.className = "thumb none";
        box.textContent = "cannot show";
      };
      img.src = "data:" + doc.mime + ";base64," + f.t;
      box.appendChild(img);
    } else {
      box.className = "thumb none";
      box.textContent = "unreadable";
    }
    fig.appendChild(box);
    var cap = el("figcaption");
    cap.appendChild(el("span", "num", label));
    if (cls === "query") cap.appendChild(el("span", "badge ref", "query"));
    else if (f.k === 2) cap.appendChild(el("span", "badge ref", "reference, kept"));
    else if (f.k === 1) {
      // a near copy -N left because it could not confirm it: worth a look
      var unsure = f.r && f.r.indexOf("not surely a copy") >= 0;
      cap.appendChild(el("span", "badge", unsure ? "-N keeps: not surely a copy" : "-N keeps"));
    }
    else cap.appendChild(el("span", "badge del", "-N deletes"));
    if (f.r) cap.lastChild.title = f.r;
    var path = el("div", "path", name);
    path.title = f.p;
    cap.appendChild(path);
    var info = f.z + (f.s >= 1000 ? " (" + f.s + " bytes)" : "") +
      " \u00b7 " + f.w + "\u00d7" + f.h;
    if (f.d !== null && f.d !== undefined) info += " \u00b7 distance " + f.d;
    var inf = el("div", "info", info);
    inf.title = "hash " + f.x;
    cap.appendChild(inf);
    fig.appendChild(cap);
    return fig;
  }
  function renderSet(k) {
    var s = sets[k], sec = el("section", "set");
    sec.id = "set-" + (k + 1);
    sec.appendChild(el("h2", "", "Set " + (k + 1) + " of " + total));
    var row = el("div", "row");
    for (var i = 0; i < s.length; i++) row.appendChild(card(s[i], "[" + (i + 1) + "]"));
    sec.appendChild(row);
    return sec;
  }
  function batch() {
    // false when the next sets are not read yet (the page is still loading)
    var end = Math.min(next + BATCH_SIZE, total), frag = document.createDocumentFragment();
    for (; next < end && available(next); next++) frag.appendChild(renderSet(next));
    main.appendChild(frag);
    if (next >= total) sentinel.textContent = total ? "End of report." : "";
    return next >= end;
  }
  function fill() {
    // Render until the page reaches two screens below the viewport.
    while (next < total &&
           sentinel.getBoundingClientRect().top < window.innerHeight * 3 && batch()) {}
    if (next >= total && observer) observer.disconnect();
  }
  function jump() {
    // A link to #set-N (or a hash typed by hand) renders up to that set and goes there.
    var m = /^#set-(\d+)$/.exec(location.hash);
    if (!m) return;
    var want = Math.min(parseInt(m[1], 10), total);
    while (next < want && batch()) {}
    var target = document.getElementById("set-" + want);
    if (target) target.scrollIntoView();
  }
  if (doc.query) {
    document.getElementById("query").appendChild(card(doc.query, "[Q]", "query"));
  }
  var observer = null;
  if ("IntersectionObserver" in window) {
    observer = new IntersectionObserver(fill, {rootMargin: "0px 0px 200% 0px"});
    observer.observe(sentinel);
  }
  window.addEventListener("scroll", fill, {passive: true});
  window.addEventListener("resize", fill);
  window.addEventListener("hashchange", jump);
  document.addEventListener("DOMContentLoaded", function () {
    fill();
    jump();
    document.body.dataset.allDataMs = String(Math.round(performance.now()));
  });
  batch();
  fill();
  document.body.dataset.firstRenderMs = String(Math.round(performance.now()));
})();
