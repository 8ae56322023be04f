// The phone's outbox: every change an inspector makes is kept in IndexedDB until the
// server confirms it, and one sender sends them.
//
// - Each write carries a client UUID, so a retried request is applied once.
// - One sender per phone (a Web Lock across tabs), one timer, real exponential back-off.
// - No connection: wait, then try again. A write the server refuses (4xx), or one that
//   fails the same way again and again (5xx), is set aside and shown on its item: it
//   never holds back the writes behind it.
// - Signed out: keep everything, show a sign-in link, send after signing in again.
// - What the server confirmed is remembered ("known"), so a page reopened offline
//   shows it even when the cached page is older.
(function () {
  "use strict";

  const DB_NAME = "shopper";
  const MAX_DELAY = 60000;
  const SET_ASIDE_AFTER = 4; // failures of one write with a server error
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const listeners = new Set();
  let dbPromise = null;

  function open() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = () => {
        const db = request.result;
        const writes = db.createObjectStore("writes", { keyPath: "uuid" });
        writes.createIndex("inspection", "inspection");
        db.createObjectStore("known", { keyPath: "key" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    return dbPromise;
  }

  function tx(store, mode, work) {
    return open().then((db) => new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      let result;
      Promise.resolve(work(t.objectStore(store))).then((r) => { result = r; });
      t.oncomplete = () => resolve(result);
      t.onerror = t.onabort = () => reject(t.error);
    }));
  }

  const req = (r) => new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

  const uuid = () =>
    crypto.randomUUID
      ? crypto.randomUUID()
      : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
          (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

  let seq = 0;
  const nextSeq = () => Date.now() * 1000 + (seq++ % 1000);

  // ---- the store --------------------------------------------------------------
  async function all(inspection) {
    const rows = await tx("writes", "readonly", (s) =>
      req(inspection ? s.index("inspection").getAll(String(inspection)) : s.getAll()));
    return rows.sort((a, b) => a.seq - b.seq);
  }

  /** Queue a write. `replaces(w)` picks earlier unsent writes this one makes useless. */
  async function add(write, replaces) {
    write = Object.assign({ uuid: uuid(), seq: nextSeq(), attempts: 0, due: 0, state: "pending", error: "" }, write);
    write.inspection = String(write.inspection);
    const old = replaces ? (await all(write.inspection)).filter((w) => !inFlight.has(w.uuid) && replaces(w)) : [];
    await tx("writes", "readwrite", (s) => {
      for (const w of old) s.delete(w.uuid);
      s.put(write);
    });
    notify({ type: "queued", write });
    wake();
    return write;
  }

  async function remove(id) {
    await tx("writes", "readwrite", (s) => s.delete(id));
  }

  async function put(write) {
    await tx("writes", "readwrite", (s) => s.put(write));
  }

  async function retry(id) {
    const write = await tx("writes", "readonly", (s) => req(s.get(id)));
    if (!write) return;
    Object.assign(write, { state: "pending", attempts: 0, due: 0, error: "" });
    await put(write);
    notify({ type: "retry", write });
    wake();
  }

  async function known(inspection) {
    const prefix = String(inspection) + "|";
    const rows = await tx("known", "readonly", (s) =>
      req(s.getAll(IDBKeyRange.bound(prefix, prefix + "\uffff"))));
    const map = {};
    for (const row of rows) map[row.key.slice(prefix.length)] = row.value;
    return map;
  }

  async function remember(inspection, key, value) {
    await tx("known", "readwrite", (s) => s.put({ key: String(inspection) + "|" + key, value }));
  }

  // ---- the sender ---------------------------------------------------------------
  const inFlight = new Set();
  let running = false;
  let again = false;
  let timer = null;
  let offlineUntil = 0;
  let offlineDelay = 0;
  let paused = false;

  const backoff = (n) => Math.min(MAX_DELAY, 1000 * 2 ** n) * (0.75 + Math.random() * 0.5);

  function notify(event) {
    for (const fn of listeners) {
      try { fn(event); } catch (e) { console.error(e); }
    }
  }

  function schedule(at) {
    clearTimeout(timer); // one timer, however many taps
    timer = setTimeout(wake, Math.max(50, at - Date.now()));
  }

  function wake() {
    if (paused) return;
    if (running) { again = true; return; }
    if (navigator.locks) {
      navigator.locks.request("shopper-sender", { ifAvailable: true }, async (lock) => {
        if (!lock) { schedule(Date.now() + 2000); return; } // another tab is sending
        await drain();
      });
    } else {
      drain();
    }
  }

  function due(writes) {
    const now = Date.now();
    for (const w of writes) {
      if (w.state !== "pending" || inFlight.has(w.uuid) || w.due > now) continue;
      // a submission goes last: after every other change of its inspection
      if (w.kind === "submit" && writes.some((o) => o !== w && o.inspection === w.inspection && o.state === "pending")) continue;
      return w;
    }
    return null;
  }

  async function drain() {
    running = true;
    try {
      do {
        again = false;
        for (;;) {
          if (paused || Date.now() < offlineUntil) break;
          const writes = await all();
          const write = due(writes);
          if (!write) {
            const waiting = writes.filter((w) => w.state === "pending" && w.due > Date.now());
            if (waiting.length) schedule(Math.min(...waiting.map((w) => w.due)));
            break;
          }
          await sendOne(write);
        }
      } while (again && !paused && Date.now() >= offlineUntil);
    } finally {
      running = false;
    }
    if (Date.now() < offlineUntil) schedule(offlineUntil);
    notify({ type: "idle" });
  }

  async function sendOne(write) {
    inFlight.add(write.uuid);
    notify({ type: "sending", write });
    let outcome;
    try {
      outcome = await (write.kind === "photo" ? sendPhoto(write) : sendForm(write));
    } catch (e) {
      outcome = { kind: "offline" };
    } finally {
      inFlight.delete(write.uuid);
    }
    const stored = await tx("writes", "readonly", (s) => req(s.get(write.uuid)));
    if (outcome.kind === "done") {
      offlineDelay = 0;
      if (stored) await remove(write.uuid);
      notify({ type: "done", write, data: outcome.data, date: outcome.date });
      return;
    }
    if (!stored) return; // removed while it was on its way
    if (outcome.kind === "offline") {
      offlineUntil = Date.now() + backoff(offlineDelay++);
      notify({ type: "offline", write });
      return;
    }
    if (outcome.kind === "signin") {
      paused = true;
      notify({ type: "signin", write });
      return;
    }
    offlineDelay = 0;
    if (outcome.kind === "refused") {
      Object.assign(stored, { state: "refused", error: outcome.error });
    } else { // a server error or a conflict: this write waits, the others go on
      stored.attempts += 1;
      stored.due = Date.now() + backoff(stored.attempts);
      if (stored.attempts >= SET_ASIDE_AFTER) Object.assign(stored, { state: "refused", error: outcome.error || "" , server: true });
    }
    await put(stored);
    notify({ type: stored.state === "refused" ? "refused" : "failed", write: stored });
  }

  function classify(status, data) {
    if (status >= 200 && status < 300) return { kind: "done", data };
    if (status === 401 || status === 403 || data.code === "csrf") return { kind: "signin" };
    if (status === 0 || status === 502 || status === 503 || status === 504 || status === 429 || status === 408) return { kind: "offline" };
    if (status >= 500 || data.code === "conflict") return { kind: "error", error: data.error || "" };
    return { kind: "refused", error: data.error || String(status) };
  }

  async function sendForm(write) {
    const body = new FormData();
    body.append("csrf_token", csrf());
    body.append("uuid", write.uuid);
    for (const [key, value] of Object.entries(write.fields || {})) body.append(key, value);
    // a request that hangs must not stall the outbox: give up on it and try again later
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 30000);
    let response;
    try {
      response = await fetch(write.url, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
        credentials: "same-origin",
        signal: abort.signal,
      });
    } finally {
      clearTimeout(timer);
    }
    let data = {};
    try { data = await response.json(); } catch (e) { data = {}; }
    const outcome = classify(response.status, data);
    outcome.date = response.headers.get("Date");
    return outcome;
  }

  // Photos go by XHR for progress; the timeout is on progress, not on the total time,
  // so a large photo on a weak signal is never cut off while it is still moving.
  const STALL_MS = 45000;
  function sendPhoto(write) {
    return new Promise((resolve) => {
      const body = new FormData();
      body.append("csrf_token", csrf());
      body.append("uuid", write.uuid);
      for (const [key, value] of Object.entries(write.fields || {})) body.append(key, value);
      body.append("photo", write.blob, write.name || "photo.jpg");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", write.url);
      xhr.setRequestHeader("X-CSRFToken", csrf());
      xhr.setRequestHeader("Accept", "application/json");
      let last = Date.now();
      const watchdog = setInterval(() => { if (Date.now() - last > STALL_MS) xhr.abort(); }, 1000);
      const finish = (outcome) => { clearInterval(watchdog); resolve(outcome); };
      xhr.upload.onprogress = (e) => {
        last = Date.now();
        if (e.lengthComputable) notify({ type: "progress", write, loaded: e.loaded, total: e.total });
      };
      xhr.onload = () => {
        let data = {};
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
        const outcome = classify(xhr.status, data);
        outcome.date = xhr.getResponseHeader("Date");
        finish(outcome);
      };
      xhr.onerror = xhr.onabort = () => finish({ kind: "offline" });
      xhr.send(body);
    });
  }

  window.addEventListener("online", () => { offlineUntil = 0; offlineDelay = 0; wake(); });
  window.addEventListener("focus", () => { if (!paused) wake(); });

  // ---- forms that go through the outbox (visit record, check-in, submission) ----
  function formFields(form) {
    const fields = {};
    for (const [key, value] of new FormData(form)) {
      if (key !== "csrf_token" && key !== "uuid" && typeof value === "string") fields[key] = value;
    }
    return fields;
  }

  function queueForm(form, extra) {
    const kind = form.dataset.queue;
    const inspection = form.dataset.inspection || document.body.dataset.inspection || "";
    return add(
      Object.assign({ kind, inspection, url: form.action, fields: formFields(form) }, extra || {}),
      (w) => w.kind === kind && w.url === form.action && w.state === "pending",
    );
  }

  // ---- offline: the service worker keeps the pages and files --------------------
  if ("serviceWorker" in navigator && document.documentElement.dataset.sw) {
    navigator.serviceWorker.register(document.documentElement.dataset.sw, { scope: "/" }).catch(() => {});
    // keep the pages of started inspections, so that they open with no network
    const keep = [...document.querySelectorAll("[data-offline]")].flatMap((a) => a.dataset.offline.split(" "));
    if (keep.length) {
      navigator.serviceWorker.ready.then((reg) => reg.active && reg.active.postMessage({ type: "keep", urls: keep }));
    }
  }

  window.ShopperQueue = {
    add, all, retry, remove, known, remember, wake, queueForm, uuid,
    on: (fn) => listeners.add(fn),
    isPaused: () => paused,
    offline: () => Date.now() < offlineUntil,
    inFlight: (id) => inFlight.has(id),
  };
  if (document.readyState !== "loading") wake();
  else document.addEventListener("DOMContentLoaded", wake);
})();
