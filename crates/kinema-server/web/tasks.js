// The results list: tasks newest first, followed live over server-sent events (or by
// polling when a stream fails), with previews, downloads and cancel buttons.
"use strict";

window.Kinema = window.Kinema || {};

(function (K) {
  const I18N = window.KinemaI18n;
  const t = I18N.t;
  const { $, el, api, token, ApiError, showError, hideError, formatBytes, formatLabel, parseTime, locale, sleep, mediaUrl } = K;
  const TERMINAL = K.TERMINAL;
  const PAGE_SIZE = 12;
  // Browsers allow ~6 HTTP/1.1 connections per host; SSE streams beyond a few would
  // starve uploads and downloads, so further tasks are polled instead.
  const MAX_STREAMS = 3;
  const PREVIEW_ORDER = ["gif", "webp", "apng", "mp4"];

  const state = {
    cursor: null,
    tasks: new Map(), // id → { body, el, previewKey, watch: null | "live" | "poll" }
    streams: 0
  };

  function watch(id) {
    const entry = state.tasks.get(id);
    if (!entry || entry.watch || TERMINAL.includes(entry.body.status)) return;
    if (typeof EventSource === "function" && state.streams < MAX_STREAMS) stream(entry);
    else poll(entry);
  }

  function stream(entry) {
    const id = entry.body.id;
    const tok = token();
    const url = "v1/events/" + encodeURIComponent(id) + (tok ? "?access_token=" + encodeURIComponent(tok) : "");
    const source = new EventSource(url);
    state.streams++;
    entry.watch = "live";
    renderTask(entry);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      source.close();
      state.streams--;
      entry.watch = null;
    };
    const onBody = (ev) => {
      // Counted on the card so tests (and curious users) can tell live from polled.
      entry.sseEvents = (entry.sseEvents || 0) + 1;
      entry.el.dataset.sseEvents = String(entry.sseEvents);
      try {
        upsertTask(JSON.parse(ev.data));
      } catch (_) {
        /* a malformed event is skipped; the final state comes from `done` or polling */
      }
    };
    source.addEventListener("progress", onBody);
    source.addEventListener("done", (ev) => {
      onBody(ev);
      close();
      const now = state.tasks.get(id);
      if (now && !TERMINAL.includes(now.body.status)) poll(now);
      else if (now) renderTask(now);
    });
    // Any stream failure (proxy buffering, server restart, auth) falls back to polling.
    source.onerror = () => {
      if (closed) return;
      close();
      const now = state.tasks.get(id);
      if (now && !TERMINAL.includes(now.body.status)) poll(now);
    };
  }

  async function poll(entry) {
    const id = entry.body.id;
    entry.watch = "poll";
    renderTask(entry);
    let delay = 1000;
    while (state.tasks.get(id) === entry) {
      try {
        const { data } = await api("v1/tasks/" + encodeURIComponent(id));
        upsertTask(data);
        delay = 1000;
        if (TERMINAL.includes(data.status)) break;
      } catch (e) {
        if (e.status === 404) break;
        delay = Math.min(delay * 2, 8000);
      }
      await sleep(delay);
    }
    entry.watch = null;
    if (state.tasks.get(id) === entry) renderTask(entry);
  }

  async function cancelTask(id) {
    const entry = state.tasks.get(id);
    if (!entry) return;
    try {
      const { data } = await api("v1/tasks/" + encodeURIComponent(id), { method: "DELETE" });
      upsertTask(data);
    } catch (e) {
      if (e.status === 409) {
        // It finished meanwhile; show how.
        api("v1/tasks/" + encodeURIComponent(id)).then((r) => upsertTask(r.data), () => {});
      } else {
        entry.actionError = e;
        renderTask(entry);
      }
    }
  }

  async function loadTasks(reset) {
    const box = $("#list-error");
    hideError(box);
    if (reset) state.cursor = null;
    let url = "v1/tasks?limit=" + PAGE_SIZE;
    if (state.cursor) url += "&cursor=" + encodeURIComponent(state.cursor);
    try {
      const { data } = await api(url);
      if (reset) {
        for (const [id, entry] of state.tasks) {
          if (!entry.watch) {
            entry.el.remove();
            state.tasks.delete(id);
          }
        }
      }
      for (const body of data.tasks || []) {
        upsertTask(body, false);
        watch(body.id);
      }
      state.cursor = data.next_cursor || null;
      $("#more").hidden = !state.cursor;
    } catch (e) {
      showError(box, e);
    }
    $("#tasks-empty").hidden = state.tasks.size > 0;
  }

  /** Adds or updates a task card; new submissions go on top, older pages below. */
  function upsertTask(body, onTop) {
    if (!body || !body.id) return;
    let entry = state.tasks.get(body.id);
    if (!entry) {
      entry = { body, el: el("li", { className: "task", "data-id": body.id }), previewKey: null, watch: null };
      state.tasks.set(body.id, entry);
      const list = $("#task-list");
      if (onTop) list.prepend(entry.el);
      else list.append(entry.el);
    } else {
      entry.body = Object.assign({}, entry.body, body);
    }
    $("#tasks-empty").hidden = true;
    renderTask(entry);
  }

  function describeRequest(req) {
    if (!req) return "";
    if (Array.isArray(req.actions) && req.actions.length) return req.actions.join(", ");
    return req.prompt ? "“" + req.prompt + "”" : "";
  }

  function renderTask(entry) {
    const b = entry.body;
    const node = entry.el;
    const status = b.status || "PENDING";
    node.dataset.status = status;
    const req = b.request || {};

    let head = node.querySelector(".task-head");
    if (!head) {
      head = el("div", { className: "task-head" }, [
        el("span", { className: "badge", "aria-live": "polite" }),
        el("span", { className: "task-what" })
      ]);
      node.replaceChildren(head, el("progress", { max: "1", value: "0" }), el("p", { className: "task-meta" }),
        el("div", { className: "previews" }), el("div", { className: "task-error error", role: "alert", hidden: true }, [
          el("p", { className: "error-message" }), el("p", { className: "error-hint" })
        ]), el("div", { className: "downloads" }), el("div", { className: "row task-actions" }));
    }
    const badge = head.querySelector(".badge");
    badge.className = "badge " + status;
    const statusText = t("status." + status);
    if (badge.textContent !== statusText) badge.textContent = statusText;
    head.querySelector(".task-what").textContent = describeRequest(req);

    const running = !TERMINAL.includes(status);
    const bar = node.querySelector("progress");
    bar.hidden = !running;
    bar.value = Math.max(0, Math.min(1, Number(b.progress) || 0));
    bar.setAttribute("aria-label", statusText);

    const meta = [];
    const created = parseTime(b.created_at);
    if (created) meta.push(t("tasks.created", { t: created.toLocaleString(locale()) }));
    const started = parseTime(b.started_at);
    const finished = parseTime(b.finished_at);
    if (started && finished) meta.push(t("tasks.took", { s: ((finished - started) / 1000).toFixed(1) }));
    if (running && b.stage) meta.push(t("tasks.stage", { stage: b.stage }));
    // How the prompt was read, the same line `kinema generate` prints.
    if (b.reading) meta.push(t("tasks.readAs", { r: b.reading }));
    const settings = [req.engine, req.frames ? req.frames + "f" : req.duration ? req.duration + "s" : null,
      req.fps ? req.fps + " fps" : null, req.size ? req.size + " px" : null].filter(Boolean).join(" · ");
    if (settings) meta.push(settings);
    if (running && entry.watch) meta.push(t(entry.watch === "live" ? "tasks.live" : "tasks.polling"));
    meta.push(b.id);
    node.querySelector(".task-meta").textContent = meta.join(" · ");

    const err = entry.actionError || (status === "FAILED" ? b.error : null);
    const errBox = node.querySelector(".task-error");
    if (err) {
      errBox.querySelector(".error-message").textContent = err.message || err.code || "";
      errBox.querySelector(".error-hint").textContent = err.hint || "";
    }
    errBox.hidden = !err;

    renderOutputs(entry);

    const actions = node.querySelector(".task-actions");
    if (running) {
      if (!actions.querySelector(".cancel")) {
        const button = el("button", { type: "button", className: "secondary cancel" });
        button.addEventListener("click", () => cancelTask(b.id));
        actions.replaceChildren(button);
      }
      const cancel = actions.querySelector(".cancel");
      cancel.textContent = t("tasks.cancel");
      cancel.setAttribute("aria-label", t("tasks.cancel") + " " + b.id);
    } else {
      actions.replaceChildren();
    }
  }

  /** Previews and download buttons; rebuilt only when the outputs change, so playing
   *  animations do not restart on every progress event. */
  function renderOutputs(entry) {
    const outputs = entry.body.outputs || [];
    const key = I18N.language() + "|" + outputs.map((o) => o.url).join("|");
    if (entry.previewKey === key) return;
    entry.previewKey = key;
    const previews = entry.el.querySelector(".previews");
    const downloads = entry.el.querySelector(".downloads");

    const groups = new Map();
    for (const o of outputs) {
      const name = o.action || "";
      if (!groups.has(name)) groups.set(name, []);
      groups.get(name).push(o);
    }
    const figures = [];
    const addFigure = (pick, action) => {
      const what = action || describeRequest(entry.body.request) || entry.body.id;
      const label = t("tasks.preview", { what });
      const media = pick.format === "mp4"
        ? el("video", { muted: true, loop: true, autoplay: true, playsinline: true, "aria-label": label })
        : el("img", { alt: label });
      if (media.tagName === "VIDEO") media.muted = true; // the attribute alone does not mute
      mediaUrl(pick.url).then((src) => { media.src = src; }, () => {});
      // An action set's clips each carry their own reading (a prompt's is in the meta line).
      const caption = action && pick.reading ? action + " — " + t("tasks.readAs", { r: pick.reading }) : action;
      figures.push(el("figure", {}, [el("div", { className: "checker" }, [media]),
        action ? el("figcaption", { text: caption }) : null]));
    };
    for (const [action, list] of groups) {
      const pick = PREVIEW_ORDER.map((f) => list.find((o) => o.format === f)).find(Boolean);
      if (pick) addFigure(pick, action);
    }
    // Only a sheet (or frames) asked for: the sheet itself is the best still preview.
    const sheet = outputs.find((o) => o.format === "sheet" && /\.png$/i.test(o.url));
    if (!figures.length && sheet) addFigure(sheet, "");
    previews.replaceChildren(...figures);

    const items = outputs.map((o) => {
      const text = [formatLabel(o.format), o.action, formatBytes(o.bytes)].filter(Boolean).join(" · ");
      const files = Array.isArray(o.files) && o.files.length ? o.files : [o.url];
      if (files.length === 1) return downloadLink(entry, files[0], text, o.format);
      // PNG frames: one link per file, folded away.
      const list = el("div", { className: "frame-files" },
        files.map((f) => downloadLink(entry, f, f.split("/").pop(), o.format)));
      return el("details", { className: "download-group" }, [
        el("summary", { className: "button secondary", text: text + " · " + files.length }), list]);
    });
    const label = items.length ? [el("span", { className: "downloads-label", text: t("tasks.downloads") })] : [];
    downloads.replaceChildren(...label, ...items);
  }

  function downloadLink(entry, url, text, format) {
    // Prefixed with the task id, so many tasks' clip.mp4 do not collide in Downloads.
    const file = entry.body.id + "-" + url.split("/").pop();
    const a = el("a", { className: "button secondary download", href: url, download: file, "data-format": format, text });
    a.addEventListener("click", (ev) => {
      if (!token()) return; // plain link: the browser downloads it (with Range support)
      ev.preventDefault();
      downloadWithToken(url, file);
    });
    return a;
  }

  async function downloadWithToken(url, filename) {
    try {
      const href = await mediaUrl(url);
      const a = el("a", { href, download: filename });
      document.body.append(a);
      a.click();
      a.remove();
    } catch (e) {
      showError($("#list-error"), new ApiError(0, "download", e.message, t("error.networkHint")));
    }
  }

  K.tasks = {
    watch,
    upsert: upsertTask,
    load: loadTasks,
    get: (id) => state.tasks.get(id),
    rerender: () => state.tasks.forEach((entry) => renderTask(entry)),
    setup() {
      $("#refresh").addEventListener("click", () => loadTasks(true));
      $("#more").addEventListener("click", () => loadTasks(false));
    }
  };
})(window.Kinema);
