// The grading page: typeset math, apply rubric items, navigate. No inline script (CSP).
"use strict";

function typesetOne(el) {
  try {
    window.katex.render(el.textContent, el, {
      displayMode: el.tagName === "DIV", throwOnError: false, trust: false,
      maxSize: 20, maxExpand: 500, strict: "ignore",
    });
  } catch (e) { el.classList.add("math-error"); }
}

// The first formulas at once; the rest (an answer may hold thousands) when scrolled into view.
function typeset() {
  if (!window.katex) return;
  const all = [...document.querySelectorAll("main .math")];
  all.slice(0, 150).forEach(typesetOne);
  if (all.length <= 150) return;
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      if (e.isIntersecting) { seen.unobserve(e.target); typesetOne(e.target); }
    }
  });
  all.slice(150).forEach((el) => seen.observe(el));
}

function banner(text) {
  const b = document.getElementById("banner");
  if (!b || !text) return;
  b.textContent = text;
  b.hidden = false;
}

async function post(url, data, then) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(data),
  });
  let body = {};
  try { body = await r.json(); } catch (e) { body = {error: "HTTP " + r.status}; }
  if (r.ok) {
    window.reviewSaved = true;
    if (body.message) sessionStorage.setItem("banner", body.message);
    if (then) location.assign(then); else location.reload();
    return;
  }
  if (r.status === 409) {
    window.reviewSaved = true;  // reloading on purpose; the typed comment is kept as a draft
    if (typeof data.comment === "string") {
      sessionStorage.setItem("draft", JSON.stringify({path: location.pathname, comment: data.comment}));
    }
    sessionStorage.setItem("banner", "Not saved: " + body.error +
      ". The page now shows the current state (your comment is still in the box, unsaved);" +
      " check it and try again.");
    location.reload();
    return;
  }
  banner("Not saved: " + (body.error || ("HTTP " + r.status)));
}

function gradePage() {
  const stateEl = document.getElementById("state");
  if (!stateEl) return;
  const st = JSON.parse(stateEl.textContent);
  const applied = new Set(st.applied);
  const comment = document.getElementById("comment");
  const draft = JSON.parse(sessionStorage.getItem("draft") || "null");
  sessionStorage.removeItem("draft");
  if (draft && draft.path === location.pathname && draft.comment !== st.comment) {
    comment.value = draft.comment;
  }
  const save = (ids, text, then) => post("/api/grade", {
    item: st.item, versions: st.versions, applied: [...ids], comment: text,
  }, then);
  // A comment typed but not saved is never dropped by moving on: see go() and beforeunload.
  const dirty = () => comment.value !== st.comment;
  window.addEventListener("beforeunload", (ev) => {
    if (dirty() && !window.reviewSaved) { ev.preventDefault(); ev.returnValue = ""; }
  });
  const toggle = (id) => {
    const ids = new Set(applied);
    if (ids.has(id)) ids.delete(id); else ids.add(id);
    save(ids, comment.value);
  };
  const items = [...document.querySelectorAll("#rubric .ritem")];
  items.forEach((li) => {
    li.querySelector(".apply").addEventListener("click", () => toggle(Number(li.dataset.id)));
    li.querySelector(".edit").addEventListener("click", () => editRubric(li));
  });
  document.getElementById("save").addEventListener("click", () => save(applied, comment.value));
  const ungrade = document.getElementById("ungrade");
  if (ungrade) ungrade.addEventListener("click", () =>
    post("/api/ungrade", {item: st.item, versions: st.versions}));
  const noAnswer = document.getElementById("no-answer");
  // The server gives 0 only to answers with nothing in their region, and says what it skipped.
  if (noAnswer) noAnswer.addEventListener("click", () =>
    post("/api/no-answer", {item: st.item, versions: st.versions}));
  const split = document.getElementById("split");
  if (split) split.addEventListener("click", () =>
    post("/api/split", {item: st.item, student: st.student}));

  const form = document.getElementById("rubric-form");
  const editRubric = (li) => {
    form.hidden = false;
    form.elements.id.value = li ? li.dataset.id : "";
    form.elements.version.value = li ? li.dataset.version : "";
    form.elements.points.value = li ? li.dataset.points : "";
    form.elements.text.value = li ? li.dataset.text : "";
    document.getElementById("rubric-delete").hidden = !li;
    form.elements.points.focus();
  };
  document.getElementById("rubric-add").addEventListener("click", () => editRubric(null));
  document.getElementById("rubric-cancel").addEventListener("click", () => { form.hidden = true; });
  const rubricData = (extra) => ({
    item: st.item,
    id: form.elements.id.value ? Number(form.elements.id.value) : null,
    version: form.elements.version.value ? Number(form.elements.version.value) : null,
    points: Number(form.elements.points.value), text: form.elements.text.value, ...extra,
  });
  form.addEventListener("submit", (ev) => { ev.preventDefault(); post("/api/rubric", rubricData({})); });
  document.getElementById("rubric-delete").addEventListener("click", () =>
    post("/api/rubric", rubricData({delete: true})));

  const go = (id) => {
    const b = document.getElementById(id);
    if (!b || !b.dataset.to) return;
    const url = "/item/" + encodeURIComponent(st.item) + "/" + encodeURIComponent(b.dataset.to);
    if (!dirty()) location.assign(url);
    else if (st.graded) save(applied, comment.value, url);  // keep the new comment, then go
    else banner("The comment is not saved: save the grade (Ctrl+Enter) or clear the comment.");
  };
  for (const id of ["prev", "next", "next-ungraded"]) {
    document.getElementById(id).addEventListener("click", () => go(id));
  }
  document.addEventListener("keydown", (ev) => {
    const t = ev.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT")) {
      if (t === comment && ev.key === "Enter" && ev.ctrlKey) save(applied, comment.value);
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (/^[1-9]$/.test(ev.key) && items[Number(ev.key) - 1]) {
      toggle(Number(items[Number(ev.key) - 1].dataset.id));
    } else if (ev.key === "j" || ev.key === "ArrowRight") go("next");
    else if (ev.key === "k" || ev.key === "ArrowLeft") go("prev");
    else if (ev.key === "n") go("next-ungraded");
  });
}

document.addEventListener("DOMContentLoaded", () => {
  banner(sessionStorage.getItem("banner"));
  sessionStorage.removeItem("banner");
  typeset();
  gradePage();
  window.reviewReadyAt = performance.now();  // for `hw2 bench review`: ms since navigation
  document.body.dataset.ready = "1";
});
