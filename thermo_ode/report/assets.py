"""The page's style and script, inlined into every report: no file, no network. The script
sorts the table of points by a column (click its heading; again: the other way) and filters
its rows by the words typed in the box (a row stays if it holds them all)."""

CSS = """
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #59636e; --line: #d1d9e0;
  --alert: #a40e26; --alert-bg: #ffebe9; --warn-bg: #fff8c5; --ok: #1a7f37; --head: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1;
  --line: #3d444d; --alert: #ff9492; --alert-bg: #3c1618; --warn-bg: #3b2e0b; --ok: #3fb950; --head: #151b23; } }
body { font: 15px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto;
  max-width: 1100px; padding: 1em 1.5em 3em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid var(--line); margin-top: 1.8em; }
.muted, figcaption, .note { color: var(--muted); }
.state { padding: 0.6em 1em; border-radius: 6px; border: 1px solid var(--line); }
.state.finished { border-color: var(--ok); }
.state.alert { background: var(--alert-bg); border: 2px solid var(--alert); color: var(--alert); font-weight: 600; }
.state.alert p + p, .state.alert li { font-weight: 400; }
.state p { margin: 0.2em 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1.2em; }
dl.facts dt { font-weight: 600; } dl.facts dd { margin: 0; overflow-wrap: anywhere; }
pre { background: var(--head); border: 1px solid var(--line); padding: 0.8em; overflow: auto; }
code { font-family: ui-monospace, monospace; font-size: 0.92em; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; border: 1px solid var(--line); background: #fff; }
table.points { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9em; width: 100%; }
table.points th, table.points td { border-bottom: 1px solid var(--line); padding: 0.2em 0.5em; text-align: right; }
table.points th.text { text-align: left; }
table.points thead th { position: sticky; top: 0; background: var(--head); }
table.points th button { all: inherit; cursor: pointer; padding: 0; }
table.points th[aria-sort=ascending] button::after { content: " \\25B2"; }
table.points th[aria-sort=descending] button::after { content: " \\25BC"; }
tr.failed { background: var(--alert-bg); } tr.not-converged { background: var(--warn-bg); }
#filter { font: inherit; padding: 0.3em 0.5em; width: min(30em, 100%); margin: 0.5em 0; }
"""

JS = """
(function () {
  "use strict";
  var table = document.getElementById("points");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = rows.map(function (row) {
    var cells = Array.prototype.map.call(row.cells, function (c) { return c.textContent; });
    return (row.className + " " + cells.join(" ")).toLowerCase();  /* "failed", "not-converged" match too */
  });
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  function value(row, column, numeric) {
    var text = row.cells[column].textContent;
    if (!numeric) { return text.toLowerCase(); }
    var number = parseFloat(text);
    return isNaN(number) ? null : number;
  }
  heads.forEach(function (head, column) {
    head.addEventListener("click", function () {
      var numeric = head.dataset.type === "number";
      var direction = head.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      var keyed = Array.prototype.map.call(body.rows, function (row, i) {
        return [value(row, column, numeric), i, row];
      });
      keyed.sort(function (a, b) {
        if (a[0] === b[0]) { return a[1] - b[1]; }
        if (a[0] === null || a[0] === "") { return 1; }  /* empty cells last, either way */
        if (b[0] === null || b[0] === "") { return -1; }
        return (a[0] < b[0] ? -1 : 1) * direction;
      });
      var fragment = document.createDocumentFragment();
      keyed.forEach(function (k) { fragment.appendChild(k[2]); });
      body.appendChild(fragment);
      heads.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
      head.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
    });
  });
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  filter.addEventListener("input", function () {
    var words = filter.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row, i) {
      var keep = words.every(function (w) { return texts[i].indexOf(w) !== -1; });
      row.hidden = !keep;
      count += keep ? 1 : 0;
    });
    shown.textContent = String(count);
  });
})();
"""
