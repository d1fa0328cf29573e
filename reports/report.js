// trustscan report: the findings list, built from the page's data a screenful
// at a time, with filters, sorts and search on the data. Plain ES2020, no
// innerHTML: every value in this page came from a scanned target, so the
// script only creates elements and sets textContent. One listener per
// control, none per row.
"use strict";
// Set before the body is parsed: the CSS collapses details, shows the
// controls and the script's list only under .js; a page without script (and
// a printed one) shows the printed list instead.
document.documentElement.classList.add("js");

(() => {
  // A finding's array, by position (scanner/formats/html_data.py, FIELDS).
  const F = {
    fp: 0, sev: 1, risk: 2, text: 3, host: 4, where: 5, service: 6, cat: 7, conf: 8,
    bl: 9, acc: 10, accText: 11, seen: 12, seenLong: 13, evidence: 14, notes: 15,
    vulns: 16, fixed: 17, factors: 18, plan: 19, ho: 20, ro: 21, to: 22,
  };
  const SEVERITY = ["info", "low", "medium", "high", "critical"];
  const DEFAULT_DIR = { risk: -1, sev: -1, host: 1, rule: 1, title: 1 };
  const KEYS = {
    risk: (r) => (r[F.risk] === null ? -1 : r[F.risk]),
    sev: (r) => r[F.sev],
    host: (r) => r[F.ho],
    rule: (r) => r[F.ro],
    title: (r) => r[F.to],
  };
  // Rows a block: the unit built, measured and emptied as it nears or leaves the screen.
  const BLOCK = 10;
  const NO_CVSS = "no CVSS in the data";

  const $ = (id) => document.getElementById(id);
  const state = { sort: "risk", dir: -1 };
  let data = null; // the decoded document: texts, vulns, levels, findings
  let rows = []; // data.findings, in the report's order (risk, then severity, host, rule)
  let order = []; // indices of the findings shown, in the order shown
  let list = null; // #frows
  let heights = []; // each block's height in px: measured when built, else expected
  let built = new Map(); // block number -> its element, for those built
  let range = [-1, -1]; // the first and last block built
  let above = null; // the spacers before and after the blocks built
  let below = null;
  let empty = null; // "No finding matches."
  let pending = false; // a sync is asked for the next frame
  let estimate = 44; // px a closed row, measured as blocks are filled
  const open = new Set(); // indices of the opened findings
  const hay = new Map(); // index -> lower-case text searched, made while the page is idle
  const blockText = new Map(); // "t3" / "v7" -> lower-case text of a shared block
  let byPrint = null; // fingerprint -> index, made on first use

  // -- elements ----------------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null && text !== "") e.textContent = text;
    return e;
  }

  function levelOf(score) {
    for (const [floor, name] of data.levels) if (score >= floor) return name;
    return "none";
  }

  function riskSpan(score) {
    if (score === null) return document.createTextNode("\u2013");
    const level = levelOf(score);
    const span = el("span", `risk risk-${level}`, score.toFixed(1));
    span.title = `risk level: ${level}`;
    return span;
  }

  // A link only where the report made one (http and https, checked when it
  // was written); anything else stays text.
  function linkTo(text, href, cls) {
    if (!href) return el("code", "", text);
    const a = el("a", cls, text);
    a.href = href;
    a.rel = "noopener noreferrer";
    return a;
  }

  function pair(dl, term, value, cls) {
    dl.append(el("dt", "", term));
    const dd = el("dd", cls || "");
    if (typeof value === "string") dd.textContent = value;
    else dd.append(value);
    dl.append(dd);
    return dd;
  }

  function vulnTable(list) {
    const table = el("table", "vulns");
    const head = el("tr");
    for (const h of ["ID", "Severity", "CVSS", "Fixed in", "References"]) {
      const th = el("th", "", h);
      th.scope = "col";
      head.append(th);
    }
    table.append(el("thead"));
    table.tHead.append(head);
    const body = el("tbody");
    for (const [id, sev, vendor, cvss, vector, fixedIn, exploited, links] of list[2]) {
      const tr = el("tr");
      const idCell = el("td");
      idCell.append(el("code", "", id));
      if (exploited) {
        idCell.append(el("br"), el("strong", "", "exploited in the wild"));
        idCell.append(` (CISA KEV since ${exploited[0]}; fix due ${exploited[1]})`);
      }
      const sevCell = el("td", `sev-${sev}`, vendor && vendor !== sev ? `${sev} (${vendor})` : sev);
      const cvssCell = el("td");
      if (cvss === null) cvssCell.textContent = NO_CVSS;
      else {
        cvssCell.textContent = String(cvss);
        if (vector) cvssCell.append(" ", el("code", "", vector));
      }
      const refs = el("td");
      links.forEach(([text, href], n) => {
        if (n) refs.append(" ");
        refs.append(href ? linkTo(`[${n + 1}]`, href, "vref") : el("code", "", text));
      });
      tr.append(idCell, sevCell, cvssCell, el("td", "", fixedIn.join(", ")), refs);
      body.append(tr);
    }
    table.append(body);
    return table;
  }

  function details(i) {
    const r = rows[i];
    const [, , , description, impact, stake, remediation, references] = data.texts[r[F.text]];
    const dl = el("dl", "fdetail");
    dl.id = `vd-${i}`;
    if (r[F.acc]) pair(dl, "Accepted risk", r[F.accText], r[F.acc] === 2 ? "acc-expired" : "acc-valid");
    pair(dl, "Evidence", r[F.evidence], "evidence");
    for (const note of r[F.notes]) pair(dl, "Note", note);
    if (r[F.vulns] >= 0) pair(dl, "Known vulnerabilities", vulnTable(data.vulns[r[F.vulns]]));
    if (r[F.fixed]) pair(dl, "Fixed by the distribution", r[F.fixed], "evidence");
    pair(dl, "What it is", description);
    const trust = pair(dl, "Customer trust", el("p", "", impact));
    trust.append(el("p", "stake", `Data at stake: ${stake.join(", ")}`));
    pair(dl, "Remediation", remediation);
    if (references.length) {
      const ul = el("ul");
      for (const [text, href] of references) {
        const li = el("li");
        li.append(linkTo(text, href, "ext"));
        ul.append(li);
      }
      pair(dl, "References", ul);
    }
    if (r[F.risk] !== null) {
      const dd = pair(dl, "Risk", riskSpan(r[F.risk]));
      dd.append(` = ${r[F.factors]}`);
      // A link to the plan step where the page lays it out (a large scan's plan is cut).
      if (r[F.plan] && $(`p-${r[F.plan]}`)) {
        const a = el("a", "", `plan step ${r[F.plan]}`);
        a.href = `#p-${r[F.plan]}`;
        dd.append(" \u00b7 ", a);
      } else if (r[F.plan]) dd.append(` \u00b7 plan step ${r[F.plan]}`);
    } else if (data.assessed) pair(dl, "Risk", "not scored");
    if (r[F.seenLong]) pair(dl, "First seen", r[F.seenLong]);
    pair(dl, "Rule", `${data.texts[r[F.text]][1]} \u00b7 fingerprint ${r[F.fp]}`, "mono");
    return dl;
  }

  function row(i) {
    const r = rows[i];
    const sev = SEVERITY[r[F.sev]];
    const text = data.texts[r[F.text]];
    const article = el("article", `finding sev-${sev}`);
    // The printed list's id (a link to a finding lands here) and its sort
    // keys, so that a row says what it is.
    article.id = `f-${r[F.fp]}`;
    const d = article.dataset;
    d.i = i;
    d.sev = r[F.sev];
    d.risk = r[F.risk] === null ? -1 : r[F.risk];
    d.host = r[F.host];
    d.rule = text[1];
    d.cat = r[F.cat];
    d.ho = r[F.ho];
    d.ro = r[F.ro];
    d.to = r[F.to];
    if (r[F.bl]) d.bl = r[F.bl];
    const head = el("div", "frow");
    const risk = el("span", "c-risk");
    risk.append(riskSpan(r[F.risk]));
    const title = el("h3", "c-title");
    const toggle = el("button", "tg", text[2]);
    toggle.type = "button";
    toggle.setAttribute("aria-controls", `vd-${i}`);
    toggle.setAttribute("aria-expanded", open.has(i) ? "true" : "false");
    title.append(toggle);
    if (r[F.bl]) title.append(el("span", `bl bl-${r[F.bl]}`, r[F.bl]));
    if (r[F.acc]) {
      title.append(
        el("span", r[F.acc] === 2 ? "acc acc-expired" : "acc", r[F.acc] === 2 ? "acceptance expired" : "accepted"),
      );
    }
    if (r[F.seen]) title.append(el("span", "seen", r[F.seen]));
    const where = el("span", "c-where");
    where.append(el("span", "ep", r[F.where]));
    if (r[F.service]) where.append(` ${r[F.service]}`);
    head.append(
      el("span", `c-sev badge sev-${sev}`, sev),
      risk,
      title,
      where,
      el("span", "c-rule", text[1]),
      el("span", "c-cat", r[F.cat]),
      el("span", `c-conf conf-${r[F.conf]}`, r[F.conf]),
    );
    article.append(head);
    if (open.has(i)) {
      article.classList.add("open");
      article.append(details(i));
    }
    return article;
  }

  // -- the window of blocks -------------------------------------------------------
  //
  // The list is a spacer, the blocks of rows near the screen (a contiguous
  // run), and a spacer; the spacers stand for the blocks not built, as tall
  // as those were when last built or are expected to be. A filter, a sort or
  // a scroll changes a few elements, whatever the number of findings.

  function blockEl(b) {
    const block = el("div", "vblock");
    block.dataset.b = b;
    for (let k = b * BLOCK; k < Math.min(order.length, (b + 1) * BLOCK); k += 1) {
      block.append(row(order[k]));
    }
    return block;
  }

  function sum(from, to) {
    let total = 0;
    for (let b = from; b < to; b += 1) total += heights[b];
    return total;
  }

  // Build blocks first..last (reusing those already built), set the spacers.
  function show(first, last) {
    const keep = new Map();
    for (const block of built.values()) {
      const b = +block.dataset.b;
      if (b >= first && b <= last) keep.set(b, block);
      else block.remove();
    }
    const run = [];
    for (let b = first; b <= last; b += 1) run.push(keep.get(b) || blockEl(b));
    above.style.height = `${sum(0, first)}px`;
    below.style.height = `${sum(last + 1, heights.length)}px`;
    // In order between the spacers; those kept are moved, not rebuilt.
    let at = above;
    for (const block of run) {
      if (at.nextSibling !== block) at.after(block);
      at = block;
    }
    built = new Map(run.map((block) => [+block.dataset.b, block]));
    range = [first, last];
  }

  // The blocks within a quarter of a screen of the window, from the heights kept:
  // one layout read, then the changes.
  function sync() {
    pending = false;
    if (!heights.length) return;
    const top = above.getBoundingClientRect().top;
    for (const [b, block] of built) {
      heights[b] = block.offsetHeight;
      const count = block.childElementCount;
      if (count === BLOCK && !block.querySelector(".finding.open")) estimate = heights[b] / count;
    }
    const view = window.innerHeight || 800;
    let y = top;
    let first = -1;
    let last = -1;
    for (let b = 0; b < heights.length; b += 1) {
      const bottom = y + heights[b];
      if (bottom > -view / 4 && y < view * 1.25) {
        if (first < 0) first = b;
        last = b;
      } else if (first >= 0) break;
      y = bottom;
    }
    // Off screen: the list's start when it is below, its end when above.
    if (first < 0) first = last = top > 0 ? 0 : heights.length - 1;
    // The block with the focus stays (a reader tabbing through the rows).
    const focused = document.activeElement && document.activeElement.closest(".vblock");
    if (focused && list.contains(focused)) {
      const b = +focused.dataset.b;
      if (b < first && first - b < 8) first = b;
      if (b > last && b - last < 8) last = b;
    }
    if (first !== range[0] || last !== range[1]) show(first, last);
  }

  function schedule() {
    if (pending || !heights.length) return;
    pending = true;
    requestAnimationFrame(sync);
  }

  // After a filter or a sort: every block expected, none built; then those near the screen.
  function build() {
    for (const block of built.values()) block.remove();
    built = new Map();
    range = [-1, -1];
    heights = [];
    for (let b = 0; b * BLOCK < order.length; b += 1) {
      heights.push(Math.round(Math.min(BLOCK, order.length - b * BLOCK) * estimate));
    }
    empty.hidden = order.length > 0;
    sync();
    list.dataset.blocks = heights.length;
    $("fc-count").textContent =
      `showing ${order.length.toLocaleString("en-US")} of ${rows.length.toLocaleString("en-US")} findings`;
  }

  // The blocks again (findings opened or closed), where they are built.
  function rebuild() {
    const [first, last] = range;
    for (const block of built.values()) block.remove();
    built = new Map();
    range = [-1, -1];
    if (first >= 0) show(first, last);
  }

  // -- filter, search and sort, on the data ---------------------------------------

  function criteria() {
    const sev = $("fc-sev").value;
    return {
      sevMin: sev.startsWith("ge") ? +sev.slice(2) : null,
      sevIs: sev !== "" && !sev.startsWith("ge") ? +sev : null,
      // A field (a scan of many hosts) takes an address or its start; a list, one host.
      host: $("fc-host").value.trim(),
      hostStart: $("fc-host").tagName === "INPUT",
      rule: $("fc-rule").value,
      cat: $("fc-cat").value,
      // Only a result compared with a baseline has this filter.
      bl: $("fc-bl") ? $("fc-bl").value : "",
      q: $("fc-q").value.trim().toLowerCase(),
    };
  }

  // Which rule texts and vulnerability lists hold the search, worked out once
  // a search (there are a few hundred, shared by the findings).
  function sharedMatches(q) {
    const text = (key, make) => {
      if (!blockText.has(key)) blockText.set(key, make().toLowerCase());
      return blockText.get(key);
    };
    return {
      texts: data.texts.map((t, n) => text(`t${n}`, () => t.slice(1, 7).flat().join("\n")).includes(q)),
      vulns: data.vulns.map((v, n) => text(`v${n}`, () => JSON.stringify(v[2])).includes(q)),
    };
  }

  function searched(i) {
    let text = hay.get(i);
    if (text === undefined) {
      const r = rows[i];
      text = [
        data.texts[r[F.text]][2], r[F.where], r[F.service], r[F.cat], r[F.conf], r[F.bl],
        r[F.accText], r[F.seen], r[F.evidence], r[F.notes].join(" "), r[F.fixed], r[F.fp],
      ].join("\n").toLowerCase();
      hay.set(i, text);
    }
    return text;
  }

  // The text searched, made while the page is idle, so that the first search
  // does not wait for it.
  const idle = window.requestIdleCallback
    ? (task) => window.requestIdleCallback(task, { timeout: 2000 })
    : (task) => setTimeout(task, 50);
  function prepareSearch(from) {
    const until = Math.min(rows.length, from + 2000);
    for (let i = from; i < until; i += 1) searched(i);
    if (until < rows.length) idle(() => prepareSearch(until));
  }

  function matches(i, c) {
    const r = rows[i];
    if (c.sevIs !== null && r[F.sev] !== c.sevIs) return false;
    if (c.sevMin !== null && r[F.sev] < c.sevMin) return false;
    if (c.host && r[F.host] !== c.host && !(c.hostStart && r[F.host].startsWith(c.host))) {
      return false;
    }
    if (c.cat && r[F.cat] !== c.cat) return false;
    if (c.bl && r[F.bl] !== c.bl) return false;
    if (c.rule && data.texts[r[F.text]][1] !== c.rule) return false;
    if (!c.q) return true;
    // The rule's text and the vulnerability list first: decided once for all their findings.
    if (c.shared.texts[r[F.text]] || (r[F.vulns] >= 0 && c.shared.vulns[r[F.vulns]])) return true;
    return searched(i).includes(c.q);
  }

  function sorted(indices) {
    const key = KEYS[state.sort];
    const dir = state.dir;
    // Ties keep the report's own order.
    return indices.sort((a, b) => (key(rows[a]) - key(rows[b])) * dir || a - b);
  }

  // Back to the top of the list when the reader was more than half a screen
  // down it (at its first rows, the first rows stay where they are).
  function toTop() {
    const controls = document.querySelector(".controls");
    const top = list.getBoundingClientRect().top;
    const covered = controls ? controls.getBoundingClientRect().bottom : 0;
    if (top < covered - (window.innerHeight || 800) / 2) window.scrollBy(0, top - covered - 40);
  }

  // `moved`: the reader changed a filter (not the page's first build, which
  // leaves the page where a link put it).
  function update(moved = true) {
    if (data === null) return;
    const c = criteria();
    if (c.q) c.shared = sharedMatches(c.q);
    const shown = [];
    for (let i = 0; i < rows.length; i += 1) if (matches(i, c)) shown.push(i);
    order = state.sort === "risk" && state.dir < 0 ? shown : sorted(shown);
    if (moved) toTop();
    build();
  }

  function sort(by, dir) {
    state.sort = by;
    state.dir = dir;
    $("fc-sort").value = by;
    for (const button of document.querySelectorAll(".fhead .sort")) {
      const on = button.dataset.sort === by;
      const cell = button.parentElement;
      if (on) cell.setAttribute("aria-sort", dir < 0 ? "descending" : "ascending");
      else cell.removeAttribute("aria-sort");
      button.classList.toggle("asc", on && dir > 0);
      button.classList.toggle("desc", on && dir < 0);
    }
    if (data === null) return;
    order = sorted(order.slice());
    toTop();
    build();
  }

  function reset() {
    for (const id of ["fc-sev", "fc-host", "fc-rule", "fc-cat", "fc-bl", "fc-q"]) {
      if ($(id)) $(id).value = "";
    }
    update();
  }

  // -- opening findings --------------------------------------------------------

  function setOpen(article, isOpen) {
    const i = +article.dataset.i;
    if (isOpen) open.add(i);
    else open.delete(i);
    article.classList.toggle("open", isOpen);
    if (isOpen && !article.querySelector(".fdetail")) article.append(details(i));
    const toggle = article.querySelector(".tg");
    if (toggle) toggle.setAttribute("aria-expanded", isOpen ? "true" : "false");
  }

  function setAll(isOpen) {
    if (isOpen) for (const i of order) open.add(i);
    else open.clear();
    rebuild();
  }

  // A link to a finding (from the plan, the summary or the trust section)
  // must land on it: shown, opened and scrolled to.
  function reveal(hash) {
    if (data === null || !hash.startsWith("#f-")) return;
    if (byPrint === null) byPrint = new Map(rows.map((r, i) => [r[F.fp], i]));
    const i = byPrint.get(decodeURIComponent(hash.slice(3)));
    if (i === undefined) return;
    let at = order.indexOf(i);
    if (at < 0) {
      reset();
      at = order.indexOf(i);
    }
    const b = Math.floor(at / BLOCK);
    open.add(i);
    // Its block is built again, the finding open.
    if (built.has(b)) {
      built.get(b).remove();
      built.delete(b);
    }
    show(Math.max(0, b - 1), Math.min(heights.length - 1, b + 1));
    const article = list.querySelector(`.vblock[data-b="${b}"]`).children[at % BLOCK];
    // The row did not exist when the browser looked for the link's target:
    // following the link again makes it the target (:target) and scrolls to it.
    if (window.location.hash === hash) window.location.replace(hash);
    article.scrollIntoView({ block: "start" });
    const toggle = article.querySelector(".tg");
    if (toggle) toggle.focus({ preventScroll: true });
  }

  // -- on paper -----------------------------------------------------------------

  // The printed list is the page's own markup, kept in <noscript> so that a
  // screen never lays it out; printing turns it into elements (inert: a parsed
  // document runs nothing, and every value in it was escaped when the report
  // was written).
  function printed() {
    const holder = $("fprint");
    const source = holder && holder.querySelector("noscript");
    if (!source || holder.dataset.built) return;
    const parsed = new DOMParser().parseFromString(source.textContent, "text/html");
    // Its findings' ids are the script's rows' now.
    for (const node of parsed.querySelectorAll(".finding[id], .fdetail[id]")) node.removeAttribute("id");
    for (const node of parsed.querySelectorAll("[aria-controls]")) node.removeAttribute("aria-controls");
    holder.append(...Array.from(parsed.body.childNodes, (node) => document.importNode(node, true)));
    holder.dataset.built = "1";
  }

  // -- the data -----------------------------------------------------------------

  async function decode(element) {
    if (element.dataset.encoding !== "gzip") return JSON.parse(element.textContent);
    const binary = atob(element.textContent);
    const bytes = new Uint8Array(binary.length);
    for (let k = 0; k < binary.length; k += 1) bytes[k] = binary.charCodeAt(k);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return JSON.parse(await new Response(stream).text());
  }

  async function start() {
    try {
      data = await decode($("fdata"));
    } catch (error) {
      // A browser that cannot read the data gets the page as without script.
      document.documentElement.classList.remove("js");
      document.documentElement.dataset.findings = "unreadable";
      return;
    }
    rows = data.findings;
    order = rows.map((_, i) => i);
    update(false);
    idle(() => prepareSearch(0));
    document.documentElement.dataset.findings = "ready";
    // When the list could first be read, for a benchmark (bench/html_render.py).
    performance.mark("findings-ready");
    if (window.location.hash) reveal(window.location.hash);
  }

  let typing = 0;

  function init() {
    list = $("frows");
    if (list && $("fdata")) {
      above = el("div", "vspace");
      below = el("div", "vspace");
      empty = el("p", "empty", "No finding matches.");
      empty.hidden = true;
      list.replaceChildren(above, below, empty);
      window.addEventListener("scroll", schedule, { passive: true });
      window.addEventListener("resize", schedule);
      for (const id of ["fc-sev", "fc-host", "fc-rule", "fc-cat", "fc-bl"]) {
        if ($(id) && $(id).tagName === "SELECT") $(id).addEventListener("change", update);
      }
      // Fields filter as one types, after a pause.
      for (const id of ["fc-q", "fc-host"]) {
        if ($(id).tagName !== "INPUT") continue;
        $(id).addEventListener("input", () => {
          clearTimeout(typing);
          typing = setTimeout(update, 150);
        });
      }
      $("fc-sort").addEventListener("change", (event) => {
        const by = event.target.value;
        sort(by, DEFAULT_DIR[by]);
      });
      $("fc-reset").addEventListener("click", reset);
      $("fc-open").addEventListener("click", () => setAll(true));
      $("fc-close").addEventListener("click", () => setAll(false));
      document.querySelector(".fhead").addEventListener("click", (event) => {
        const button = event.target.closest(".sort");
        if (!button) return;
        const by = button.dataset.sort;
        sort(by, by === state.sort ? -state.dir : DEFAULT_DIR[by]);
      });
      list.addEventListener("click", (event) => {
        if (!event.target.closest(".frow")) return;
        // A click that ends a text selection is not a request to toggle.
        if (String(window.getSelection()).length > 0 && !event.target.closest(".tg")) return;
        const article = event.target.closest(".finding");
        setOpen(article, !article.classList.contains("open"));
      });
      // Tabbing on from a block's last row: the next block is there to land in.
      // Tabbing on from the last block built: the next one is there to land in.
      list.addEventListener("focusin", (event) => {
        const block = event.target.closest(".vblock");
        if (block && +block.dataset.b === range[1] && range[1] < heights.length - 1) {
          show(range[0], range[1] + 1);
        }
      });
      window.addEventListener("hashchange", () => reveal(window.location.hash));
      start();
    }
    if ($("fprint")) {
      window.addEventListener("beforeprint", printed);
      window.matchMedia("print").addEventListener("change", (event) => {
        if (event.matches) printed();
      });
    }
    document.addEventListener("click", (event) => {
      const button = event.target.closest(".select-draft");
      if (!button) return;
      const letter = document.getElementById(button.dataset.target);
      if (letter) window.getSelection().selectAllChildren(letter);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
