// Head office's checklist editor: the draft is plain data in the file format's shape,
// drawn as a form, saved (whole) as it is typed, checked by the server, which answers
// with every problem and the path of its field. A copy is kept in this browser until
// the server has it, so a closed tab or a lost connection loses nothing.
(() => {
  "use strict";
  const state = JSON.parse(document.getElementById("editor-state").textContent);
  const words = JSON.parse(document.getElementById("editor-words").textContent);
  const root = document.getElementById("editor");
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;
  const backupKey = `checklist-draft-${state.id}`;
  const FLAGS = ["red_line", "na_allowed", "photo_required_on_fail"];

  let data = state.data;
  let revision = state.revision;
  let problems = state.problems;
  let dirty = false;
  let saving = null;
  let timer = null;
  let blocked = false; // changed elsewhere: stop saving over it

  const backup = JSON.parse(localStorage.getItem(backupKey) || "null");
  if (backup && backup.revision === revision) {
    data = backup.data; // unsaved work from a closed tab: carry on with it
    dirty = true;
  }

  // ---- small helpers ----
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === false || v == null) continue;
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  };
  const fill = (template, key, value) => template.replace(`{${key}}`, value);
  const points = (value) => {
    const n = Number(value);
    return Number.isFinite(n) && n > 0 ? n : 0;
  };
  const round = (n) => Math.round(n * 10) / 10;
  let uid = 0;
  const fieldId = () => `ed-f${++uid}`;

  function changed() {
    dirty = true;
    localStorage.setItem(backupKey, JSON.stringify({ revision, data }));
    showTotals();
    showSave(words.saving);
    clearTimeout(timer);
    timer = setTimeout(save, 700);
  }

  // ---- saving ----
  async function save() {
    clearTimeout(timer);
    if (blocked || !dirty) return saving;
    if (saving) {
      await saving;
      return save();
    }
    const sent = JSON.stringify(data);
    dirty = false;
    saving = (async () => {
      try {
        const response = await fetch(state.save_url, {
          method: "PUT",
          headers: {
            "Content-Type": "application/json",
            Accept: "application/json",
            "X-CSRFToken": csrf(),
          },
          body: JSON.stringify({ revision, data: JSON.parse(sent) }),
          keepalive: sent.length < 60000,
        });
        const body = await response.json().catch(() => ({}));
        if (response.ok) {
          revision = body.revision;
          problems = body.problems;
          if (!dirty) localStorage.removeItem(backupKey);
          else localStorage.setItem(backupKey, JSON.stringify({ revision, data }));
          showProblems();
          showSave(dirty ? words.saving : words.saved);
        } else if (response.status === 409) {
          blocked = true;
          showSave(words.changed, true);
        } else {
          dirty = true;
          showSave(fill(words.refused, "r", body.error || response.status), true);
        }
      } catch (err) {
        dirty = true;
        showSave(words.offline, true);
        clearTimeout(timer);
        timer = setTimeout(save, 5000);
      } finally {
        saving = null;
      }
    })();
    await saving;
    if (dirty && !blocked) timer = setTimeout(save, 700);
  }

  function showSave(text, bad = false) {
    const node = document.getElementById("ed-save");
    node.textContent = text;
    node.classList.toggle("error", bad);
  }

  // ---- totals and problems ----
  function showTotals() {
    const total = round(
      data.sections.reduce((sum, s) => sum + s.items.reduce((t, i) => t + points(i.points), 0), 0)
    );
    document.getElementById("ed-total").textContent = fill(words.total, "p", total);
    document.getElementById("ed-inspection-total").textContent = fill(
      words.inspection,
      "p",
      round(total + state.others_total)
    );
    root.querySelectorAll("[data-section-points]").forEach((node) => {
      const section = data.sections[Number(node.dataset.sectionPoints)];
      const sum = section ? round(section.items.reduce((t, i) => t + points(i.points), 0)) : 0;
      node.textContent = fill(words.section_points, "p", sum);
    });
  }

  function showProblems() {
    root.querySelectorAll(".ed-error").forEach((node) => node.remove());
    root.querySelectorAll("[aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
    for (const problem of problems) {
      // the field itself, else the nearest enclosing part that is on the page
      let path = problem.path;
      let target = null;
      while (path && !(target = root.querySelector(`[data-path="${path}"]`))) {
        path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
      }
      target = target || root;
      const message = el("p", { class: "ed-error error", text: problem.message });
      if (target.matches("input, textarea, select")) {
        target.setAttribute("aria-invalid", "true");
        target.closest("label, .ed-field").after(message);
      } else {
        target.prepend(message);
      }
    }
    const count = document.getElementById("ed-problems");
    count.textContent = problems.length ? fill(words.problems, "n", problems.length) : "";
    document.querySelector("#ed-publish button").disabled = problems.length > 0;
  }

  // ---- fields ----
  function textPair(owner, key, path, label, multiline) {
    const value = owner[key] || (owner[key] = { zh: "" });
    const box = el("fieldset", { class: "ed-pair", "data-path": path });
    box.append(el("legend", { text: label }));
    for (const lang of ["zh", "en"]) {
      const id = fieldId();
      const input = el(multiline ? "textarea" : "input", {
        id,
        lang: lang === "zh" ? "zh-CN" : "en",
        rows: multiline ? 2 : null,
        "data-path": `${path}.${lang}`,
        oninput: (event) => {
          const text = event.target.value;
          if (lang === "en" && !text.trim()) delete value.en;
          else value[lang] = text;
          changed();
        },
      });
      input.value = value[lang] || "";
      box.append(
        el("label", { class: "ed-field", for: id }, el("span", { text: words[lang] }), input)
      );
    }
    return box;
  }

  function checkbox(label, checked, path, onchange) {
    const input = el("input", { type: "checkbox", "data-path": path, onchange });
    input.checked = checked;
    return el("label", { class: "ed-check ed-field" }, input, el("span", { text: label }));
  }

  function button(label, onclick, extra = {}) {
    return el("button", { type: "button", onclick, ...extra }, label);
  }

  // ---- codes for new items and sections: never one any version has used ----
  function takenCodes() {
    const taken = new Set(state.used_codes);
    data.sections.forEach((s) => s.items.forEach((i) => taken.add(i.code)));
    return taken;
  }

  function newItemCode(section) {
    const taken = takenCodes();
    const sample = section.items[0] || data.sections.flatMap((s) => s.items)[0];
    let prefix;
    if (section.items[0]) prefix = section.items[0].code.replace(/\d+$/, "");
    else if (sample) {
      const head = sample.code.split("-")[0];
      prefix = `${head}-${section.code.toUpperCase().replace(/[^A-Z0-9]/g, "").slice(0, 8) || "NEW"}-`;
    } else prefix = "ITEM-";
    if (!prefix.endsWith("-")) prefix += "-";
    for (let n = 1; ; n += 1) {
      const code = `${prefix}${String(n).padStart(2, "0")}`;
      if (!taken.has(code)) return code;
    }
  }

  function newSectionCode() {
    const taken = new Set(data.sections.map((s) => s.code));
    for (let n = data.sections.length + 1; ; n += 1) {
      if (!taken.has(`section_${n}`)) return `section_${n}`;
    }
  }

  function blankItem(section) {
    return {
      code: newItemCode(section),
      text: { zh: "" },
      guidance: { zh: "" },
      points: 1,
      red_line: false,
      na_allowed: false,
      photo_required_on_fail: false,
    };
  }

  // ---- structure ----
  function move(list, from, to) {
    if (to < 0 || to >= list.length) return;
    const [entry] = list.splice(from, 1);
    list.splice(to, 0, entry);
    changed();
    draw();
  }

  function drawItem(section, s, item, i) {
    const path = `sections.${s}.items.${i}`;
    const used = state.used_codes.includes(item.code);
    const codeId = fieldId();
    const pointsId = fieldId();
    const head = el(
      "div",
      { class: "ed-item-head" },
      el(
        "label",
        { class: "ed-field ed-code", for: codeId },
        el("span", { text: words.code }),
        el("input", {
          id: codeId,
          value: item.code,
          readonly: used,
          "data-path": `${path}.code`,
          oninput: (e) => {
            item.code = e.target.value.trim();
            changed();
          },
        })
      ),
      el(
        "label",
        { class: "ed-field ed-points", for: pointsId },
        el("span", { text: words.points }),
        el("input", {
          id: pointsId,
          type: "number",
          min: "0.1",
          max: "100",
          step: "0.1",
          inputmode: "decimal",
          value: item.points,
          "data-path": `${path}.points`,
          oninput: (e) => {
            const raw = e.target.value;
            item.points = raw === "" || Number.isNaN(Number(raw)) ? raw : Number(raw);
            changed();
          },
        })
      ),
      el(
        "div",
        { class: "ed-tools" },
        button("↑", () => move(section.items, i, i - 1), { title: words.up, "aria-label": words.up, disabled: i === 0 }),
        button("↓", () => move(section.items, i, i + 1), {
          title: words.down,
          "aria-label": words.down,
          disabled: i === section.items.length - 1,
        }),
        moveToSection(section, s, i),
        button(words.remove, () => {
          section.items.splice(i, 1);
          changed();
          draw();
        })
      )
    );
    const flags = el("div", { class: "ed-flags" });
    for (const flag of FLAGS) {
      flags.append(
        checkbox(words[flag], Boolean(item[flag]), `${path}.${flag}`, (e) => {
          item[flag] = e.target.checked;
          changed();
        })
      );
    }
    flags.append(
      checkbox(words.video_observable, item.video_observable !== false, `${path}.video_observable`, (e) => {
        if (e.target.checked) delete item.video_observable;
        else item.video_observable = false;
        changed();
      })
    );
    const features = el("fieldset", { class: "ed-features", "data-path": `${path}.features` });
    features.append(el("legend", { text: words.features }));
    for (const feature of state.features) {
      const has = (item.features || []).includes(feature.code);
      features.append(
        checkbox(feature.name, has, null, (e) => {
          const set = new Set(item.features || []);
          if (e.target.checked) set.add(feature.code);
          else set.delete(feature.code);
          if (set.size) item.features = [...set].sort();
          else delete item.features;
          changed();
        })
      );
    }
    return el(
      "li",
      { class: "ed-item", "data-path": path },
      head,
      textPair(item, "text", `${path}.text`, words.text, true),
      textPair(item, "guidance", `${path}.guidance`, words.guidance, true),
      flags,
      features
    );
  }

  function moveToSection(section, s, i) {
    if (data.sections.length < 2) return null;
    const select = el("select", {
      "aria-label": words.move_to,
      onchange: (e) => {
        const target = data.sections[Number(e.target.value)];
        const [item] = section.items.splice(i, 1);
        target.items.push(item);
        changed();
        draw();
      },
    });
    select.append(el("option", { value: "", text: words.move_to, selected: true, disabled: true }));
    data.sections.forEach((other, n) => {
      if (n !== s) select.append(el("option", { value: n, text: other.title?.zh || other.code }));
    });
    return select;
  }

  function drawSection(section, s) {
    const path = `sections.${s}`;
    const codeId = fieldId();
    const head = el(
      "div",
      { class: "ed-section-head" },
      el("h2", { text: `${words.section} ${s + 1}` }),
      el("span", { class: "muted", "data-section-points": s }),
      el(
        "div",
        { class: "ed-tools" },
        button("↑", () => move(data.sections, s, s - 1), { title: words.up, "aria-label": words.up, disabled: s === 0 }),
        button("↓", () => move(data.sections, s, s + 1), {
          title: words.down,
          "aria-label": words.down,
          disabled: s === data.sections.length - 1,
        }),
        button(words.remove, () => {
          if (section.items.length && !window.confirm(words.confirm_remove_section)) return;
          data.sections.splice(s, 1);
          changed();
          draw();
        })
      )
    );
    const code = el(
      "label",
      { class: "ed-field ed-code", for: codeId },
      el("span", { text: words.section_code }),
      el("input", {
        id: codeId,
        value: section.code,
        "data-path": `${path}.code`,
        oninput: (e) => {
          section.code = e.target.value.trim();
          changed();
        },
      })
    );
    const items = el("ol", { class: "ed-items", "data-path": `${path}.items` });
    section.items.forEach((item, i) => items.append(drawItem(section, s, item, i)));
    return el(
      "section",
      { class: "ed-section panel", "data-path": path },
      head,
      el("div", { class: "ed-section-fields" }, code, textPair(section, "title", `${path}.title`, words.section_title, false)),
      items,
      button(`+ ${words.add_item}`, () => {
        section.items.push(blankItem(section));
        changed();
        draw();
      })
    );
  }

  function draw() {
    const scroll = window.scrollY;
    root.replaceChildren(
      el("div", { class: "panel" }, textPair(data, "title", "title", words.title, false)),
      ...data.sections.map(drawSection),
      button(`+ ${words.add_section}`, () => {
        const section = { code: newSectionCode(), title: { zh: "" }, items: [] };
        section.items.push(blankItem(section));
        data.sections.push(section);
        changed();
        draw();
      }, { class: "primary" })
    );
    showTotals();
    showProblems();
    window.scrollTo(0, scroll);
  }

  // ---- the page ----
  document.getElementById("ed-publish").addEventListener("submit", async (event) => {
    if (!dirty && !saving) return;
    event.preventDefault();
    await save();
    if (!dirty && !problems.length) event.target.submit();
  });
  document.getElementById("ed-discard").addEventListener("submit", (event) => {
    if (!window.confirm(words.confirm_discard)) event.preventDefault();
    else localStorage.removeItem(backupKey);
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") save();
  });
  window.addEventListener("pagehide", () => save());

  draw();
  showSave(dirty ? words.saving : words.saved);
  if (dirty) save();
  root.dataset.ready = "true";
})();
