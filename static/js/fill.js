// The inspector's checklist page. What it shows is always the server's state merged with
// the phone's outbox (queue.js): after a reconnect, a reload or a reload with no network.
// A tap on a result sends only the result; a note sends only the note.
(function () {
  "use strict";

  const form = document.getElementById("inspection");
  const Q = window.ShopperQueue;
  if (!form || !Q) return;
  const inspection = form.dataset.inspection;
  const msg = JSON.parse(document.getElementById("messages").textContent);
  const page = JSON.parse(document.getElementById("state").textContent);
  const renderedAt = Math.floor(Date.parse(page.rendered_at) / 1000);
  const $ = (id) => document.getElementById(id);
  const saveState = $("save-state");
  const progress = $("progress");
  const progressText = $("progress-text");
  const pendingText = $("pending-text");
  const template = $("tpl-extra");

  // ---- state ------------------------------------------------------------------
  const articles = new Map(); // "version:code" → article
  for (const article of form.querySelectorAll("article.item")) {
    articles.set(article.dataset.v + ":" + article.id, article);
  }
  const keyOf = (article) => article.dataset.v + ":" + article.id;
  let confirmed = {}; // what the server holds: the page, or newer confirmations kept on the phone
  let writes = []; // this inspection's outbox
  const blobUrls = new Map();

  async function load() {
    confirmed = {};
    for (const [key, value] of Object.entries(page.items)) confirmed[key] = value;
    let kept = {};
    try { kept = await Q.known(inspection); } catch (e) { kept = {}; }
    for (const [key, value] of Object.entries(kept)) {
      if (key.startsWith("item:") && value.at >= renderedAt) confirmed[key.slice(5)] = value;
    }
    await refresh();
  }

  async function refresh() {
    try { writes = await Q.all(inspection); } catch (e) { writes = []; }
    for (const article of articles.values()) render(article);
    summary();
  }

  function merged(key) {
    const base = confirmed[key] || { r: null, n: "", p: [] };
    const state = { r: base.r, n: base.n || "", p: (base.p || []).slice(), pending: [], errors: [] };
    for (const w of writes) {
      if (w.item !== key) continue;
      if (w.state === "refused") { state.errors.push(w); continue; }
      if (w.kind === "answer") {
        if ("result" in w.fields) state.r = w.fields.result;
        if ("note" in w.fields) state.n = w.fields.note;
      } else if (w.kind === "photo") {
        state.pending.push(w);
      } else if (w.kind === "photo-delete") {
        state.p = state.p.filter((p) => String(p.id) !== String(w.photo));
      }
    }
    return state;
  }

  // ---- rendering ----------------------------------------------------------------
  function render(article) {
    const state = merged(keyOf(article));
    for (const input of article.querySelectorAll("input[type=radio]")) input.checked = input.value === state.r;
    article.classList.toggle("answered", !!state.r);
    article.classList.toggle("is-fail", state.r === "fail");
    article.classList.toggle("is-na", state.r === "na");
    const needsExtra = state.r === "fail" || state.n || state.p.length || state.pending.length;
    let extra = article.querySelector(".extra");
    if (needsExtra && !extra) {
      extra = template.content.firstElementChild.cloneNode(true);
      const id = "note-" + article.dataset.n;
      extra.querySelector("textarea").id = id;
      article.append(extra);
    }
    if (extra) {
      extra.hidden = !needsExtra;
      const note = extra.querySelector("textarea");
      if (document.activeElement !== note && !noteTimers.has(article)) note.value = state.n;
      renderThumbs(article, extra.querySelector(".thumbs"), state);
    }
    let status = article.querySelector(".item-status");
    const errors = state.errors;
    if (errors.length && !status) {
      status = document.createElement("p");
      status.className = "item-status error";
      status.setAttribute("role", "alert");
      article.append(status);
    }
    if (status) {
      status.replaceChildren();
      if (!errors.length) { status.remove(); return; }
      const w = errors[errors.length - 1];
      status.append(w.server ? msg.server_error : w.error || msg.server_error);
      if (w.server) status.append(" ", button(msg.retry, "retry", () => Q.retry(w.uuid)));
      for (const e of errors) status.append(" ", button("×", "dismiss", () => Q.remove(e.uuid).then(refresh), msg.remove));
    }
  }

  function button(text, cls, onclick, label) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "small " + cls;
    b.textContent = text;
    if (label) b.setAttribute("aria-label", label);
    b.addEventListener("click", onclick);
    return b;
  }

  function renderThumbs(article, box, state) {
    const want = [];
    for (const p of state.p) want.push("s" + p.id);
    for (const w of state.pending) want.push("q" + w.uuid);
    const have = [...box.children].map((f) => f.dataset.k);
    if (want.join() !== have.join()) {
      box.replaceChildren(...want.map((k) => box.querySelector(`[data-k="${k}"]`) || thumb(k, state)));
    }
    for (const w of state.pending) {
      const figure = box.querySelector(`[data-k="q${w.uuid}"]`);
      const label = figure.querySelector(".t-state");
      label.textContent = Q.inFlight(w.uuid) ? msg.uploading : msg.waiting;
    }
  }

  function thumb(k, state) {
    const figure = document.createElement("figure");
    figure.className = "thumb";
    figure.dataset.k = k;
    const img = document.createElement("img");
    img.alt = msg.photo_alt;
    img.width = img.height = 96;
    if (k[0] === "s") {
      const photo = state.p.find((p) => "s" + p.id === k);
      const link = document.createElement("a");
      link.href = photo.full;
      link.target = "_blank";
      link.rel = "noopener";
      img.src = photo.thumb;
      link.append(img);
      figure.append(link, button("×", "remove", () => removePhoto(figure, photo), msg.remove));
    } else {
      const w = state.pending.find((p) => "q" + p.uuid === k);
      if (!blobUrls.has(w.uuid)) blobUrls.set(w.uuid, URL.createObjectURL(w.blob));
      img.src = blobUrls.get(w.uuid);
      figure.classList.add("uploading");
      const label = document.createElement("small");
      label.className = "t-state";
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", msg.uploading);
      figure.append(img, bar, label, button("×", "remove", () => Q.remove(w.uuid).then(refresh), msg.remove));
    }
    return figure;
  }

  // deleting a photo: a 44 px target, then a few seconds to undo before it is sent
  function removePhoto(figure, photo) {
    const article = figure.closest("article");
    figure.hidden = true;
    const undo = document.createElement("p");
    undo.className = "undo";
    undo.setAttribute("role", "status");
    let cancelled = false;
    undo.append(msg.removed, " ", button(msg.undo, "undo-button", () => {
      cancelled = true;
      figure.hidden = false;
      undo.remove();
    }));
    figure.closest(".thumbs").after(undo);
    setTimeout(async () => {
      undo.remove();
      if (cancelled) return;
      await Q.add({
        kind: "photo-delete", inspection, item: keyOf(article), photo: photo.id,
        url: form.dataset.photoUrl + "/" + photo.id + "/delete", fields: {},
      });
      await refresh();
    }, 5000);
  }

  let lastState = "";
  function summary() {
    let answered = 0;
    for (const article of articles.values()) if (article.classList.contains("answered")) answered += 1;
    const total = articles.size;
    progress.value = answered;
    progress.max = total;
    progressText.textContent = progressText.dataset.template.replace("{a}", answered).replace("{t}", total);
    const pending = writes.filter((w) => w.state === "pending").length;
    pendingText.textContent = pending ? pendingText.dataset.template.replace("{n}", pending) : "";
    let kind = "saved";
    if (Q.isPaused()) kind = "signin";
    else if (writes.some((w) => w.state === "refused")) kind = "refused";
    else if (pending && (Q.offline() || !navigator.onLine)) kind = "offline";
    else if (pending) kind = "saving";
    if (kind === lastState) return; // announce changes only
    lastState = kind;
    saveState.className = "save-state " + kind;
    saveState.replaceChildren();
    if (kind === "signin") {
      const link = document.createElement("a");
      link.href = form.dataset.loginUrl;
      link.textContent = msg.signin;
      saveState.append(link);
    } else {
      saveState.textContent = msg[kind];
    }
  }

  // ---- changes ------------------------------------------------------------------
  const noteTimers = new Map();

  function answer(article, fields) {
    const key = keyOf(article);
    const only = "result" in fields ? "result" : "note";
    fields = Object.assign({ version: article.dataset.v, item: article.id, changed_at: Date.now() }, fields);
    return Q.add(
      { kind: "answer", inspection, item: key, url: form.dataset.answerUrl, fields },
      (w) => w.kind === "answer" && w.item === key && w.state === "pending" && only in w.fields && Object.keys(w.fields).length === 4,
    ).then(refresh);
  }

  function flushNote(article) {
    if (!noteTimers.has(article)) return;
    clearTimeout(noteTimers.get(article));
    noteTimers.delete(article);
    const note = article.querySelector("textarea").value;
    if (note === merged(keyOf(article)).n) return; // nothing changed: nothing sent
    answer(article, { note });
  }

  form.addEventListener("change", (event) => {
    const article = event.target.closest("article.item");
    if (!article) return;
    if (event.target.type === "radio") {
      flushNote(article);
      answer(article, { result: event.target.value });
    } else if (event.target.classList.contains("photo-input")) {
      const files = [...event.target.files];
      event.target.value = "";
      for (const file of files) addPhoto(article, file, event.target.dataset.source);
    }
  });
  form.addEventListener("input", (event) => {
    if (event.target.tagName !== "TEXTAREA") return;
    const article = event.target.closest("article.item");
    clearTimeout(noteTimers.get(article)); // one timer per note: a note is sent once
    noteTimers.set(article, setTimeout(() => flushNote(article), 800));
  });
  form.addEventListener("focusout", (event) => {
    if (event.target.tagName === "TEXTAREA") flushNote(event.target.closest("article.item"));
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("click", (event) => {
    const toggle = event.target.closest("button.g");
    if (!toggle) return;
    const article = toggle.closest("article");
    let guidance = article.querySelector(".guidance");
    if (!guidance) {
      guidance = document.createElement("p");
      guidance.className = "guidance";
      guidance.id = "g-" + article.dataset.n;
      guidance.textContent = article.dataset.g;
      guidance.hidden = true;
      const code = document.createElement("span");
      code.className = "code";
      code.textContent = " " + article.dataset.m;
      guidance.append(code);
      article.querySelector(".answer-row").after(guidance);
      toggle.setAttribute("aria-controls", guidance.id);
    }
    guidance.hidden = !guidance.hidden;
    toggle.setAttribute("aria-expanded", String(!guidance.hidden));
  });
  const flushAll = () => { for (const article of [...noteTimers.keys()]) flushNote(article); };
  window.addEventListener("pagehide", flushAll);
  document.addEventListener("visibilitychange", () => { if (document.hidden) flushAll(); });
  window.addEventListener("beforeunload", (event) => {
    flushAll();
    if (writes.some((w) => w.kind === "photo" && w.state === "pending")) {
      event.preventDefault();
      event.returnValue = msg.leave;
    }
  });

  // ---- photos: made small on the phone, kept in the outbox until they arrive ----------
  async function addPhoto(article, file, source) {
    const captured = await captureTime(file);
    const blob = await shrink(file);
    const fields = { version: article.dataset.v, item: article.id, source };
    if (captured) fields.captured_at = captured;
    await Q.add({
      kind: "photo", inspection, item: keyOf(article), url: form.dataset.photoUrl,
      fields, blob, name: blob === file ? file.name : "photo.jpg",
    });
    await refresh();
  }

  async function shrink(file) {
    const LONGEST = 2048;
    try {
      const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
      const scale = Math.min(1, LONGEST / Math.max(bitmap.width, bitmap.height));
      if (scale === 1 && file.type === "image/jpeg" && file.size < 1500000) { bitmap.close(); return file; }
      const canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      bitmap.close();
      const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.85));
      return blob || file;
    } catch (e) {
      return file; // a format this browser cannot decode (HEIC): the server can
    }
  }

  // The camera's own time (EXIF DateTimeOriginal), which re-encoding drops: sent beside the file.
  async function captureTime(file) {
    try {
      const view = new DataView(await file.slice(0, 131072).arrayBuffer());
      if (view.getUint16(0) !== 0xffd8) return fallbackTime(file);
      let at = 2;
      while (at + 4 < view.byteLength) {
        const marker = view.getUint16(at);
        const size = view.getUint16(at + 2);
        if (marker === 0xffe1 && view.getUint32(at + 4) === 0x45786966) return exif(view, at + 10) || fallbackTime(file);
        if ((marker & 0xff00) !== 0xff00 || marker === 0xffda) break;
        at += 2 + size;
      }
    } catch (e) { /* unreadable: fall back */ }
    return fallbackTime(file);
  }

  function exif(view, tiff) {
    const little = view.getUint16(tiff) === 0x4949;
    const u16 = (o) => view.getUint16(tiff + o, little);
    const u32 = (o) => view.getUint32(tiff + o, little);
    const text = (o, n) => { let s = ""; for (let i = 0; i < n - 1; i++) s += String.fromCharCode(view.getUint8(tiff + o + i)); return s; };
    const find = (ifd, tag) => {
      const count = u16(ifd);
      for (let i = 0; i < count; i++) {
        const entry = ifd + 2 + i * 12;
        if (u16(entry) === tag) return { count: u32(entry + 4), value: u32(entry + 8), at: entry + 8 };
      }
      return null;
    };
    const pointer = find(u32(4), 0x8769);
    if (!pointer) return null;
    const original = find(pointer.value, 0x9003);
    if (!original) return null;
    const stamp = text(original.value, original.count); // "YYYY:MM:DD HH:MM:SS"
    if (!/^\d{4}:\d\d:\d\d \d\d:\d\d:\d\d$/.test(stamp)) return null;
    const offset = find(pointer.value, 0x9011);
    const zone = offset ? text(offset.count > 4 ? offset.value : offset.at, offset.count) : "";
    return stamp.slice(0, 10).replace(/:/g, "-") + "T" + stamp.slice(11) + (/^[+-]\d\d:\d\d$/.test(zone) ? zone : "");
  }

  function fallbackTime(file) {
    if (!file.lastModified) return "";
    const d = new Date(file.lastModified);
    const off = -d.getTimezoneOffset();
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    const local = new Date(file.lastModified + off * 60000).toISOString().slice(0, 19);
    return local + (off >= 0 ? "+" : "-") + pad(off / 60) + ":" + pad(off % 60);
  }

  // ---- what the outbox reports ----------------------------------------------------
  Q.on(async (event) => {
    const w = event.write;
    if (event.type === "progress") {
      const bar = form.querySelector(`[data-k="q${w.uuid}"] progress`);
      if (bar) bar.value = (100 * event.loaded) / event.total;
      return;
    }
    if (event.type === "done" && w.inspection === inspection) {
      const at = Math.floor(Date.parse(event.date || "") / 1000) || Math.floor(Date.now() / 1000);
      const key = w.item;
      if (key && articles.has(key)) {
        const item = Object.assign({ r: null, n: "", p: [] }, confirmed[key]);
        item.p = (item.p || []).slice();
        const data = event.data || {};
        if (w.kind === "answer") { item.r = data.result; item.n = data.note || ""; }
        if (w.kind === "photo" && !item.p.some((p) => p.id === data.id)) item.p.push({ id: data.id, thumb: data.thumb, full: data.full });
        if (w.kind === "photo-delete") item.p = item.p.filter((p) => String(p.id) !== String(w.photo));
        item.at = at;
        confirmed[key] = item;
        if (blobUrls.has(w.uuid)) { URL.revokeObjectURL(blobUrls.get(w.uuid)); blobUrls.delete(w.uuid); }
        try { await Q.remember(inspection, "item:" + key, item); } catch (e) { /* memory only */ }
      }
    }
    if (["queued", "sending", "done", "refused", "failed", "offline", "signin", "idle", "retry"].includes(event.type)) {
      await refresh();
    }
  });
  window.addEventListener("online", summary);
  window.addEventListener("offline", summary);

  // ---- the visit record and the check-in go through the outbox too --------------
  const visitForm = document.querySelector("form.visit");
  function visitFields(fields) {
    for (const [name, value] of Object.entries(fields || {})) {
      const input = visitForm.elements.namedItem(name);
      if (input && document.activeElement !== input) input.value = value;
    }
    waited();
  }
  function waited() {
    const out = visitForm.querySelector(".visit-wait");
    const a = visitForm.elements.namedItem("ticket_at").value;
    const b = visitForm.elements.namedItem("called_at").value;
    const minutes = a && b ? (Date.parse("1970-01-01T" + b) - Date.parse("1970-01-01T" + a)) / 60000 : null;
    out.textContent = minutes !== null && minutes >= 0 ? out.dataset.template.replace("{n}", minutes) : "";
  }
  async function loadVisit() {
    if (!visitForm) return;
    let kept = {};
    try { kept = await Q.known(inspection); } catch (e) { kept = {}; }
    if (kept.visit && kept.visit.at >= renderedAt) visitFields(kept.visit.fields);
    for (const w of writes) if (w.kind === "visit" && w.state === "pending") visitFields(w.fields);
    const band = kept.checkin && kept.checkin.at >= renderedAt ? kept.checkin.band : null;
    if (band) showBand(band);
  }
  function showBand(band) {
    const button = document.querySelector("button.checkin");
    const out = button && button.parentElement.querySelector("output");
    if (!out) return;
    const text = button.dataset["msg" + band.charAt(0).toUpperCase() + band.slice(1)];
    if (text) out.textContent = text;
  }
  if (visitForm) {
    visitForm.addEventListener("change", () => {
      waited();
      Q.queueForm(visitForm, { inspection, item: "visit" }).then(refresh);
    });
    visitForm.addEventListener("submit", (event) => {
      event.preventDefault();
      Q.queueForm(visitForm, { inspection, item: "visit" }).then(refresh);
    });
  }
  const checkin = document.querySelector("button.checkin");
  if (checkin) {
    checkin.addEventListener("click", () => {
      const out = checkin.parentElement.querySelector("output");
      if (!navigator.geolocation) { out.textContent = checkin.dataset.msgDenied; return; }
      out.textContent = checkin.dataset.msgLocating;
      navigator.geolocation.getCurrentPosition(
        (position) => {
          const c = position.coords;
          Q.add({
            kind: "checkin", inspection, item: "checkin", url: checkin.dataset.url,
            fields: { latitude: String(c.latitude), longitude: String(c.longitude), accuracy: String(Math.round(c.accuracy)) },
          }, (w) => w.kind === "checkin" && w.state === "pending").then(refresh);
        },
        () => { out.textContent = checkin.dataset.msgDenied; },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 },
      );
    });
  }
  Q.on(async (event) => {
    if (event.type !== "done" || event.write.inspection !== inspection) return;
    const at = Math.floor(Date.parse(event.date || "") / 1000) || Math.floor(Date.now() / 1000);
    try {
      if (event.write.kind === "visit") await Q.remember(inspection, "visit", { at, fields: event.write.fields });
      if (event.write.kind === "checkin" && event.data) {
        showBand(event.data.band);
        await Q.remember(inspection, "checkin", { at, band: event.data.band });
      }
    } catch (e) { /* memory only */ }
  });

  // ---- finding one's way: sections, next unanswered, continue where one left off ----
  const titles = [...form.querySelectorAll(".section-title")];
  const now = $("section-now");
  let ticking = false;
  function currentSection() {
    ticking = false;
    const top = $("progress-box").getBoundingClientRect().bottom;
    let current = null;
    for (const t of titles) { if (t.getBoundingClientRect().top <= top + 4) current = t; else break; }
    const text = current ? current.textContent : "";
    if (now.textContent !== text) now.textContent = text;
  }
  window.addEventListener("scroll", () => { if (!ticking) { ticking = true; requestAnimationFrame(currentSection); } }, { passive: true });

  function itemsOf(title) {
    const list = [];
    for (let el = title.nextElementSibling; el && el.tagName === "ARTICLE"; el = el.nextElementSibling) list.push(el);
    return list;
  }

  const dialog = $("sections");
  $("open-sections").addEventListener("click", () => {
    const menu = dialog.querySelector(".section-menu");
    menu.replaceChildren(...titles.map((t) => {
      const items = itemsOf(t);
      const done = items.filter((a) => a.classList.contains("answered")).length;
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "#" + t.id;
      a.textContent = t.textContent;
      const count = document.createElement("span");
      count.className = done === items.length ? "done" : "";
      count.textContent = msg.section_progress.replace("{a}", done).replace("{t}", items.length);
      a.append(" ", count);
      a.addEventListener("click", (e) => { e.preventDefault(); dialog.close(); t.scrollIntoView(); });
      li.append(a);
      return li;
    }));
    dialog.showModal();
  });
  dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());

  function goTo(article) {
    article.scrollIntoView({ block: "start" });
    const first = article.querySelector("input[type=radio]");
    if (first) first.focus({ preventScroll: true });
  }

  function firstUnanswered(after) {
    const all = [...articles.values()];
    const from = after ? all.findIndex((a) => a.getBoundingClientRect().top > after) : 0;
    const ordered = from > 0 ? all.slice(from).concat(all.slice(0, from)) : all;
    return ordered.find((a) => !a.classList.contains("answered"));
  }

  $("next-unanswered").addEventListener("click", () => {
    const next = firstUnanswered($("progress-box").getBoundingClientRect().bottom + 8);
    if (next) goTo(next);
    else { lastState = ""; saveState.textContent = msg.all_answered; }
  });

  load().then(loadVisit).then(() => {
    // "continue" opens at the first unanswered item, not at the top
    const nav = performance.getEntriesByType("navigation")[0];
    const fresh = !nav || nav.type === "navigate";
    if (!location.hash && fresh && form.querySelector("article.answered")) {
      const next = firstUnanswered(0);
      if (next) goTo(next);
    }
    currentSection();
    form.dataset.ready = "1"; // the server's state and the outbox are on screen
  });
})();
