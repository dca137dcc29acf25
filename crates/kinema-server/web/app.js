// The Kinema serve page: upload a character, describe or pick actions, choose settings
// and formats, and submit; tasks.js follows the results. Plain browser JavaScript with
// no build step: the server embeds these files as they are.
"use strict";

(function (K) {
  const I18N = window.KinemaI18n;
  const t = I18N.t;
  const { $, el, api, ApiError, userError, showError, hideError, formatBytes, formatLabel, withRetry, newKey } = K;
  const Tasks = K.tasks;

  const state = {
    upload: null,
    limits: {},
    engines: [],
    actions: [],
    submitting: false,
    pending: null // { key, fingerprint } of a submit whose outcome is unknown
  };

  async function loadEngines() {
    const { data } = await api("v1/engines");
    state.engines = data.engines || [];
    state.limits = data.limits || {};
    const engine = $("#engine");
    const previous = engine.value;
    engine.replaceChildren(...state.engines.map((e) => el("option", {
      value: e.name,
      text: e.default ? e.name + " (" + t("settings.default") + ")" : e.name
    })));
    const fallback = state.engines.find((e) => e.default) || state.engines[0];
    if (state.engines.some((e) => e.name === previous)) engine.value = previous;
    else if (fallback) engine.value = fallback.name;
    describeEngine();

    const checked = new Set(checkedValues("#formats"));
    if (!checked.size) ["mp4", "gif"].forEach((f) => checked.add(f));
    $("#formats").replaceChildren(...(data.formats || []).map((f) =>
      checkbox("format", f, formatLabel(f), checked.has(f))));
    const atlasChecked = new Set(checkedValues("#atlases"));
    $("#atlases").replaceChildren(...(data.atlases || []).map((a) =>
      checkbox("atlas", a, a, atlasChecked.has(a))));
    syncOutputs();

    const lim = state.limits;
    if (lim.max_fps) $("#fps").max = lim.max_fps;
    if (lim.max_frames) $("#length").max = $("#length-unit").value === "frames" ? lim.max_frames : "";
    if (Array.isArray(lim.sizes) && lim.sizes.length === 2) {
      $("#size").min = lim.sizes[0];
      $("#size").max = lim.sizes[1];
    }
  }

  function checkbox(name, value, label, checked) {
    const input = el("input", { type: "checkbox", name, value, checked });
    return el("label", {}, [input, document.createTextNode(" " + label)]);
  }

  function checkedValues(container) {
    return Array.from(document.querySelectorAll(container + " input:checked"), (i) => i.value);
  }

  function describeEngine() {
    const e = state.engines.find((x) => x.name === $("#engine").value);
    $("#engine-description").textContent = e && e.description ? e.description : "";
  }

  function syncOutputs() {
    const formats = checkedValues("#formats");
    $("#atlas-box").hidden = !formats.includes("sheet");
    $("#mp4-hint").hidden = !formats.includes("mp4") || $("#background-mode").value === "color";
  }

  async function loadActions() {
    const { data } = await api("v1/actions");
    state.actions = data.actions || [];
    const checked = new Set(checkedValues("#action-list"));
    const label = $("#action-list-label");
    $("#action-list").replaceChildren(label, ...state.actions.map((a) => {
      const words = (a.english || []).slice(0, 3).join(", ") + " · " + (a.chinese || []).slice(0, 3).join("、");
      const title = (a.description || "") + "\n" + (a.english || []).join(", ") + "\n" + (a.chinese || []).join("、");
      return el("label", { title }, [
        el("input", { type: "checkbox", name: "action", value: a.name, checked: checked.has(a.name) }),
        el("span", {}, [
          el("span", { className: "action-name", text: a.name }),
          document.createTextNode(" (" + t(a.looping ? "what.loops" : "what.oneShot") + ")"),
          el("span", { className: "action-words", text: words })
        ])
      ]);
    }));
  }

  async function loadCapabilities() {
    hideError($("#form-error"));
    try {
      await Promise.all([loadEngines(), loadActions()]);
    } catch (e) {
      showError($("#form-error"), e);
    }
  }

  async function uploadFile(file) {
    if (!file) return;
    const box = $("#form-error");
    hideError(box);
    const max = state.limits.max_upload_bytes;
    if (max && file.size > max) {
      showError(box, new ApiError(413, "too_large",
        t("image.tooBig", { size: formatBytes(file.size), max: formatBytes(max) }), t("image.tooBigHint")));
      return;
    }
    const preview = $("#image-preview");
    const info = $("#image-info");
    state.upload = null;
    if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(file);
    preview.alt = file.name;
    preview.hidden = false;
    info.removeAttribute("data-i18n");
    info.textContent = t("image.uploading");
    const form = new FormData();
    form.append("file", file, file.name || "image");
    try {
      const { data } = await api("v1/uploads", { method: "POST", body: form });
      state.upload = data;
      preview.classList.toggle("pixelated", !!data.pixel_art);
      describeUpload();
    } catch (e) {
      preview.hidden = true;
      info.setAttribute("data-i18n", "image.none");
      info.textContent = t("image.none");
      showError(box, e);
    }
  }

  function describeUpload() {
    const up = state.upload;
    if (!up) return;
    let text = t("image.ready", { w: up.width, h: up.height });
    if (up.pixel_art) text += " · " + t("image.pixelArt");
    $("#image-info").textContent = text;
  }

  function setupDropZone() {
    const drop = $("#drop");
    $("#image-file").addEventListener("change", (ev) => uploadFile(ev.target.files[0]));
    drop.addEventListener("dragover", (ev) => {
      ev.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (ev) => {
      ev.preventDefault();
      drop.classList.remove("over");
      const file = ev.dataTransfer && ev.dataTransfer.files[0];
      if (file) uploadFile(file);
    });
    // Pasting a copied image (outside text fields) uploads it too.
    document.addEventListener("paste", (ev) => {
      if (ev.target && /^(INPUT|TEXTAREA)$/.test(ev.target.tagName)) return;
      const item = Array.from((ev.clipboardData && ev.clipboardData.items) || [])
        .find((i) => i.kind === "file" && i.type.startsWith("image/"));
      if (item) uploadFile(item.getAsFile());
    });
  }

  function numberOf(selector) {
    const v = $(selector).valueAsNumber;
    return Number.isFinite(v) ? v : undefined;
  }

  /** The request body exactly as the API contract names it; the server validates ranges. */
  function buildRequest() {
    if (!state.upload) throw userError("noImage");
    const body = { image: state.upload.id, engine: $("#engine").value || undefined };
    const mode = document.querySelector("input[name=mode]:checked").value;
    if (mode === "prompt") {
      const prompt = $("#prompt").value.trim();
      if (!prompt) throw userError("noPrompt");
      body.prompt = prompt;
    } else {
      const actions = checkedValues("#action-list");
      if (!actions.length) throw userError("noActions");
      body.actions = actions;
    }
    const length = numberOf("#length");
    if (length !== undefined) {
      if ($("#length-unit").value === "frames") body.frames = length;
      else body.duration = length;
    }
    body.fps = numberOf("#fps");
    body.size = numberOf("#size");
    body.seed = numberOf("#seed");
    body.loop = $("#loop").checked;
    body.background = $("#background-mode").value === "color" ? $("#background-color").value : "transparent";
    body.outputs = checkedValues("#formats");
    if (!body.outputs.length) throw userError("noOutputs");
    const atlases = checkedValues("#atlases");
    if (body.outputs.includes("sheet") && atlases.length) body.atlases = atlases;
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    return body;
  }

  async function submit(ev) {
    ev.preventDefault();
    if (state.submitting) return; // a double-click sends one request
    const box = $("#form-error");
    hideError(box);
    let body;
    try {
      body = buildRequest();
    } catch (e) {
      showError(box, e);
      return;
    }
    // Same form after an unanswered submit → same key, so the server dedups it.
    const fingerprint = JSON.stringify(body);
    if (!state.pending || state.pending.fingerprint !== fingerprint) {
      state.pending = { key: newKey(), fingerprint };
    }
    const key = state.pending.key;
    const button = $("#submit");
    state.submitting = true;
    button.disabled = true;
    button.textContent = t("submitting");
    $("#submit-status").textContent = "";
    try {
      const { data } = await withRetry(() => api("v1/image_to_video", {
        method: "POST", json: body, headers: { "Idempotency-Key": key }
      }));
      state.pending = null;
      $("#submit-status").textContent = t("submitted", { id: data.id });
      const known = Tasks.get(data.id);
      Tasks.upsert(Object.assign({ request: body, progress: 0 }, known ? known.body : {}, data), true);
      Tasks.watch(data.id);
    } catch (e) {
      if (e.status !== 0) state.pending = null; // answered: a new click is a new task
      showError(box, e);
    } finally {
      state.submitting = false;
      button.disabled = false;
      button.textContent = t("submit");
    }
  }

  function setupToken() {
    const input = $("#token");
    input.value = K.token();
    $("#token-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      K.saveToken(input.value.trim());
      $("#token-status").textContent = t("token.saved");
      refreshAll();
    });
    $("#token-clear").addEventListener("click", () => {
      K.saveToken("");
      input.value = "";
      $("#token-status").textContent = t("token.cleared");
      refreshAll();
    });
  }

  function setupLanguage() {
    const select = $("#lang");
    select.value = I18N.language();
    select.addEventListener("change", () => I18N.setLanguage(select.value));
    I18N.onChange((lang) => {
      select.value = lang;
      $("#submit").textContent = t(state.submitting ? "submitting" : "submit");
      describeUpload();
      if (state.engines.length) loadEngines().catch(() => {});
      if (state.actions.length) loadActions().catch(() => {});
      Tasks.rerender();
    });
  }

  function refreshAll() {
    loadCapabilities();
    Tasks.load(true);
  }

  function setupForm() {
    $("#job-form").addEventListener("submit", submit);
    document.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", () => {
      const actions = document.querySelector("input[name=mode]:checked").value === "actions";
      $("#mode-prompt").hidden = actions;
      $("#mode-actions").hidden = !actions;
    }));
    $("#engine").addEventListener("change", describeEngine);
    $("#length-unit").addEventListener("change", () => {
      const frames = $("#length-unit").value === "frames";
      const fps = numberOf("#fps") || 12;
      const len = numberOf("#length");
      const input = $("#length");
      input.step = frames ? "1" : "0.1";
      input.min = frames ? "1" : "0.1";
      input.max = frames && state.limits.max_frames ? state.limits.max_frames : "";
      if (len !== undefined) input.value = frames ? Math.max(1, Math.round(len * fps)) : (len / fps).toFixed(1);
    });
    $("#background-mode").addEventListener("change", () => {
      $("#background-color").disabled = $("#background-mode").value !== "color";
      syncOutputs();
    });
    $("#formats").addEventListener("change", syncOutputs);
  }

  function start() {
    I18N.apply();
    setupLanguage();
    setupToken();
    setupDropZone();
    setupForm();
    Tasks.setup();
    refreshAll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(window.Kinema);
