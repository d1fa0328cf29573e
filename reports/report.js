// trustscan report: filter, sort and expand the findings. Plain ES2020, no
// innerHTML: every value in this page came from a scanned target, so the
// script only moves elements and sets textContent. One listener per control,
// none per row; sort keys are precomputed numbers in data- attributes.
"use strict";
// Set before the body is parsed: the CSS collapses details and shows the
// controls only under .js, so a page without script shows everything.
document.documentElement.classList.add("js");

(() => {
  const DEFAULT_DIR = { risk: -1, sev: -1, host: 1, rule: 1, title: 1 };
  let list = null; // the #frows container
  let rows = null; // [{el, keys...}] in document order at load, built on first use
  let total = 0;
  const state = { sort: "risk", dir: -1 };
  const $ = (id) => document.getElementById(id);

  function allRows() {
    if (rows === null) {
      rows = Array.from(list.children, (el) => {
        const d = el.dataset;
        return {
          el,
          sev: +d.sev,
          risk: +d.risk,
          host: d.host,
          rule: d.rule,
          cat: d.cat,
          bl: d.bl || "",
          ho: +d.ho,
          ro: +d.ro,
          to: +d.to,
          i: +d.i,
          text: null,
          refs: null,
        };
      });
    }
    return rows;
  }

  function criteria() {
    const sev = $("fc-sev").value;
    return {
      sevMin: sev.startsWith("ge") ? +sev.slice(2) : null,
      sevIs: sev !== "" && !sev.startsWith("ge") ? +sev : null,
      host: $("fc-host").value,
      rule: $("fc-rule").value,
      cat: $("fc-cat").value,
      // Only a result compared with a baseline has this filter.
      bl: $("fc-bl") ? $("fc-bl").value : "",
      q: $("fc-q").value.trim().toLowerCase(),
    };
  }

  function matches(r, c) {
    if (c.sevIs !== null && r.sev !== c.sevIs) return false;
    if (c.sevMin !== null && r.sev < c.sevMin) return false;
    if (c.host && r.host !== c.host) return false;
    if (c.rule && r.rule !== c.rule) return false;
    if (c.cat && r.cat !== c.cat) return false;
    if (c.bl && r.bl !== c.bl) return false;
    if (c.q) {
      if (r.text === null) {
        r.text = r.el.textContent.toLowerCase();
        r.refs = Array.from(r.el.querySelectorAll(".ref[data-ref]"), (a) => a.dataset.ref);
      }
      if (!r.text.includes(c.q) && !r.refs.some((id) => blockText(id).includes(c.q))) {
        return false;
      }
    }
    return true;
  }

  // The text of a shared block (a rule's text, a vulnerability list), read once.
  const blocks = new Map();
  function blockText(id) {
    if (!blocks.has(id)) {
      const el = document.getElementById(id);
      blocks.set(id, el ? el.textContent.toLowerCase() : "");
    }
    return blocks.get(id);
  }

  function filter() {
    const c = criteria();
    let shown = 0;
    for (const r of allRows()) {
      const ok = matches(r, c);
      if (r.el.hidden === ok) r.el.hidden = !ok;
      if (ok) shown += 1;
    }
    $("fc-count").textContent = `showing ${shown} of ${total} findings`;
  }

  const KEYS = {
    risk: (r) => r.risk,
    sev: (r) => r.sev,
    host: (r) => r.ho,
    rule: (r) => r.ro,
    title: (r) => r.to,
  };

  function sort(by, dir) {
    state.sort = by;
    state.dir = dir;
    const key = KEYS[by];
    // Ties keep the report's own order (risk, then severity, host, rule).
    const sorted = allRows()
      .slice()
      .sort((a, b) => (key(a) - key(b)) * dir || a.i - b.i);
    // One DOM operation for all moves; spread arguments have a limit, so a
    // very long list goes through a fragment instead.
    if (sorted.length <= 30000) {
      list.replaceChildren(...sorted.map((r) => r.el));
    } else {
      const fragment = document.createDocumentFragment();
      for (const r of sorted) fragment.appendChild(r.el);
      list.appendChild(fragment);
    }
    $("fc-sort").value = by;
    for (const button of document.querySelectorAll(".fhead .sort")) {
      const on = button.dataset.sort === by;
      const cell = button.parentElement;
      if (on) cell.setAttribute("aria-sort", dir < 0 ? "descending" : "ascending");
      else cell.removeAttribute("aria-sort");
      button.classList.toggle("asc", on && dir > 0);
      button.classList.toggle("desc", on && dir < 0);
    }
  }

  // A large report prints a rule's text and a vulnerability list once; an
  // opened finding gets a copy of each it links to (cloned nodes, no markup).
  function fillIn(article) {
    for (const ref of article.querySelectorAll(".ref[data-ref]:not(.loaded)")) {
      const source = document.getElementById(ref.dataset.ref);
      const body = source && source.querySelector(".body");
      if (!body) continue;
      const copy = body.cloneNode(true);
      copy.removeAttribute("id");
      copy.classList.add("copied");
      ref.after(copy);
      ref.classList.add("loaded");
    }
  }

  function setOpen(article, open) {
    if (open) fillIn(article);
    article.classList.toggle("open", open);
    const toggle = article.querySelector(".tg");
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }

  function reset() {
    for (const id of ["fc-sev", "fc-host", "fc-rule", "fc-cat", "fc-bl", "fc-q"]) {
      if ($(id)) $(id).value = "";
    }
    filter();
  }

  // A link to a finding (from the plan, the summary or the trust section)
  // must land on it: shown, expanded and scrolled to.
  function reveal(hash) {
    if (!hash.startsWith("#f-")) return;
    const target = document.getElementById(decodeURIComponent(hash.slice(1)));
    if (!target || !target.classList.contains("finding")) return;
    if (target.hidden) reset();
    setOpen(target, true);
    target.scrollIntoView({ block: "start" });
  }

  let typing = 0;

  function init() {
    list = $("frows");
    if (list) {
      total = list.children.length;
      for (const button of document.querySelectorAll(".tg")) {
        button.setAttribute("aria-expanded", "false");
      }
      for (const id of ["fc-sev", "fc-host", "fc-rule", "fc-cat", "fc-bl"]) {
        if ($(id)) $(id).addEventListener("change", filter);
      }
      $("fc-q").addEventListener("input", () => {
        clearTimeout(typing);
        typing = setTimeout(filter, 150);
      });
      $("fc-sort").addEventListener("change", (event) => {
        const by = event.target.value;
        sort(by, DEFAULT_DIR[by]);
      });
      $("fc-reset").addEventListener("click", reset);
      $("fc-open").addEventListener("click", () => {
        for (const r of allRows()) if (!r.el.hidden) setOpen(r.el, true);
      });
      $("fc-close").addEventListener("click", () => {
        for (const el of list.querySelectorAll(".finding.open")) setOpen(el, false);
      });
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
      window.addEventListener("hashchange", () => reveal(window.location.hash));
      if (window.location.hash) reveal(window.location.hash);
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
