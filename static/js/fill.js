// The inspector's checklist page: every answer is saved as it is given.
//
// Writes go through a small send-and-retry queue kept in localStorage and keyed by
// client UUIDs, so a lost connection or a closed tab loses nothing and a retried
// request is applied once by the server. Photos upload in the background, each with
// its own progress bar and retry button.
(function () {
  "use strict";

  const root = document.getElementById("inspection");
  if (!root) return;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const msg = (name) => root.dataset["msg" + name];
  const stateBox = document.getElementById("save-state");
  const progress = document.getElementById("progress");
  const progressText = document.getElementById("progress-text");

  const uuid = () =>
    crypto.randomUUID
      ? crypto.randomUUID()
      : "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
          (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16));

  // ---- the answer queue -------------------------------------------------------
  // Each tab keeps its queue under its own key and, on opening, adopts what other
  // (closed) tabs left behind; a write sent twice is harmless, its UUID is the same.
  const prefix = "shopper.queue." + root.dataset.inspection + ".";
  const storeKey = prefix + uuid();
  let queue = [];
  try {
    for (const key of Object.keys(localStorage)) {
      if (!key.startsWith(prefix)) continue;
      queue.push(...JSON.parse(localStorage.getItem(key) || "[]"));
      localStorage.removeItem(key);
    }
  } catch (e) { /* storage unavailable: memory only */ }
  queue.forEach((w) => { w.inFlight = false; });
  let sending = false;
  let paused = false; // the session ended: keep everything, wait for a new sign-in
  let delay = 1000;
  const refusedItems = new Set();

  const persist = () => {
    try { localStorage.setItem(storeKey, JSON.stringify(queue)); } catch (e) { /* memory only */ }
  };
  persist();

  function showState(kind) {
    stateBox.classList.remove("pending", "offline");
    stateBox.replaceChildren();
    if (kind === "saved") stateBox.textContent = msg("Saved");
    if (kind === "pending") { stateBox.textContent = msg("Saving"); stateBox.classList.add("pending"); }
    if (kind === "offline") { stateBox.textContent = msg("Offline"); stateBox.classList.add("offline"); }
    if (kind === "refused") { stateBox.textContent = msg("Refused"); stateBox.classList.add("offline"); }
    if (kind === "signin") {
      const link = document.createElement("a");
      link.href = root.dataset.loginUrl;
      link.textContent = msg("Signin");
      stateBox.append(link);
      stateBox.classList.add("offline");
    }
  }

  function setProgress(answered, total) {
    progress.value = answered;
    progress.max = total;
    progressText.textContent = progressText.dataset.template.replace("{a}", answered).replace("{t}", total);
  }

  function itemOf(write) {
    return document.getElementById(write.item);
  }

  function enqueue(article) {
    const form = article.querySelector("form.answer");
    const checked = form.querySelector('input[name="result"]:checked');
    const status = article.querySelector(".item-status");
    if (!checked) { status.textContent = msg("NoteFirst"); return; }
    const write = {
      uuid: uuid(),
      version: article.dataset.version,
      item: article.dataset.item, // not form.elements.item: that is a method
      result: checked.value,
      note: form.elements.namedItem("note").value,
    };
    // a newer write for the same item replaces one not yet sent
    queue = queue.filter((w) => w.inFlight || w.item !== write.item || w.version !== write.version);
    queue.push(write);
    persist();
    article.classList.add("answered");
    article.classList.toggle("is-fail", write.result === "fail");
    article.classList.toggle("is-na", write.result === "na");
    status.classList.remove("error");
    status.textContent = "";
    pump();
  }

  function refuse(write, text) {
    refusedItems.add(write.item);
    const article = itemOf(write);
    if (article) {
      const status = article.querySelector(".item-status");
      status.textContent = text;
      status.classList.add("error");
    }
  }

  async function pump() {
    if (sending || paused) return;
    if (!queue.length) { showState(refusedItems.size ? "refused" : "saved"); return; }
    sending = true;
    showState("pending");
    const write = queue[0];
    write.inFlight = true;
    const body = new FormData();
    body.append("csrf_token", csrf);
    for (const key of ["uuid", "version", "item", "result", "note"]) body.append(key, write[key]);
    let outcome = "retry";
    try {
      const response = await fetch(root.dataset.answerUrl, {
        method: "POST",
        body,
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        credentials: "same-origin",
      });
      let data = {};
      try { data = await response.json(); } catch (e) { data = {}; }
      if (response.ok) {
        setProgress(data.answered, data.total);
        refusedItems.delete(write.item);
        outcome = "done";
      } else if (response.status === 401 || response.status === 403 || data.code === "csrf") {
        outcome = "signin"; // keep the write; it goes once the inspector signs in again
      } else if (response.status >= 500 || response.status === 408 || response.status === 429 || data.code === "conflict") {
        outcome = "retry";
      } else {
        refuse(write, data.error || response.statusText); // can never succeed as sent
        outcome = "done";
      }
    } catch (e) {
      outcome = "retry"; // offline or the connection dropped
    }
    write.inFlight = false;
    if (outcome === "done") { queue.shift(); delay = 1000; }
    persist();
    sending = false;
    if (outcome === "signin") {
      paused = true;
      showState("signin");
    } else if (outcome === "retry") {
      showState("offline");
      setTimeout(pump, delay);
      delay = Math.min(delay * 2, 30000);
    } else {
      pump();
    }
  }

  window.addEventListener("online", () => { delay = 1000; pump(); });
  const noteTimers = new Map();
  function flushNotes() {
    for (const [article, timer] of noteTimers) { clearTimeout(timer); enqueue(article); }
    noteTimers.clear();
  }
  // a note typed just before the tab closes still goes into the kept queue
  window.addEventListener("pagehide", flushNotes);
  document.addEventListener("visibilitychange", () => { if (document.hidden) flushNotes(); });
  window.addEventListener("beforeunload", (event) => {
    flushNotes();
    if (queue.length) { event.preventDefault(); event.returnValue = ""; }
  });

  root.addEventListener("change", (event) => {
    const article = event.target.closest("article.item");
    if (!article) return;
    if (event.target.name === "result") enqueue(article);
    if (event.target.classList.contains("photo-input")) {
      for (const file of event.target.files) upload(article, file);
      event.target.value = "";
    }
  });
  root.addEventListener("input", (event) => {
    if (event.target.name !== "note") return;
    const article = event.target.closest("article.item");
    clearTimeout(noteTimers.get(article));
    noteTimers.set(article, setTimeout(() => enqueue(article), 800));
  });
  root.addEventListener("focusout", (event) => {
    if (event.target.name !== "note") return;
    const article = event.target.closest("article.item");
    if (noteTimers.has(article)) {
      clearTimeout(noteTimers.get(article));
      noteTimers.delete(article);
      enqueue(article);
    }
  });
  // with JavaScript the per-item forms never submit: answers save as they change
  root.addEventListener("submit", (event) => {
    if (event.target.classList.contains("answer")) event.preventDefault();
    if (event.target.classList.contains("remove-photo")) { event.preventDefault(); removePhoto(event.target); }
  });

  // ---- photos -----------------------------------------------------------------
  function thumbsOf(article) {
    return article.querySelector(".thumbs");
  }

  function upload(article, file, existing) {
    const figure = existing || document.createElement("figure");
    const id = (existing && existing.dataset.uuid) || uuid();
    figure.className = "thumb uploading";
    figure.dataset.uuid = id;
    figure.replaceChildren();
    const img = document.createElement("img");
    img.alt = msg("PhotoAlt");
    img.width = img.height = 96;
    img.src = URL.createObjectURL(file);
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", msg("Uploading"));
    figure.append(img, bar);
    if (!existing) thumbsOf(article).append(figure);

    const body = new FormData();
    body.append("csrf_token", csrf);
    body.append("uuid", id);
    body.append("version", article.dataset.version);
    body.append("item", article.dataset.item);
    body.append("photo", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", root.dataset.photoUrl);
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.timeout = 120000;
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = (100 * e.loaded) / e.total; };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = {}; }
      if (xhr.status === 201 || xhr.status === 200) {
        uploaded(article, figure, data);
      } else {
        failed(article, figure, file, data.error || msg("UploadFailed"));
      }
    };
    xhr.onerror = xhr.ontimeout = () => failed(article, figure, file, msg("UploadFailed"));
    xhr.send(body);
  }

  function uploaded(article, figure, data) {
    figure.className = "thumb";
    figure.dataset.photoId = data.id;
    const link = document.createElement("a");
    link.href = data.full;
    link.target = "_blank";
    link.rel = "noopener";
    const img = figure.querySelector("img");
    URL.revokeObjectURL(img.src);
    img.src = data.thumb;
    link.append(img);
    const form = document.createElement("form");
    form.method = "post";
    form.className = "remove-photo";
    form.action = root.dataset.photoUrl + "/" + data.id + "/delete";
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "remove";
    button.textContent = "×";
    button.title = msg("Remove");
    button.setAttribute("aria-label", msg("Remove"));
    form.append(button);
    figure.replaceChildren(link, form);
  }

  function failed(article, figure, file, text) {
    figure.className = "thumb failed";
    figure.querySelector("progress")?.remove();
    const note = document.createElement("span");
    note.className = "upload-error";
    note.textContent = text;
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "retry";
    retry.textContent = msg("Retry");
    retry.addEventListener("click", () => upload(article, file, figure));
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "retry";
    dismiss.textContent = msg("Remove");
    dismiss.addEventListener("click", () => figure.remove());
    figure.append(note, retry, dismiss);
  }

  async function removePhoto(form) {
    const figure = form.closest("figure");
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-CSRFToken": csrf, Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok || response.status === 404) { figure.remove(); return; }
      const data = await response.json().catch(() => ({}));
      figure.title = data.error || msg("UploadFailed");
    } catch (e) {
      figure.title = msg("Offline");
    }
    figure.classList.add("failed");
  }

  pump(); // resend anything left from a closed tab or a lost connection
})();
