// Every visible string of the page, in English and Chinese. The page follows the
// browser's language (navigator.languages; any zh* picks Chinese) until the user
// chooses one with the switch, which is then remembered in localStorage.
"use strict";

(function () {
  const STRINGS = {
    en: {
      "app.title": "Kinema — animate a character",
      "app.tagline": "Give it a character image and an action; get back a clip your engine imports.",
      "lang.label": "Language",
      "token.summary": "Access token",
      "token.label": "Token (only when the server runs with --token)",
      "token.save": "Save token",
      "token.clear": "Forget",
      "token.saved": "Token saved in this browser.",
      "token.cleared": "Token forgotten.",
      "create.heading": "New clip",
      "image.legend": "1. Character image",
      "image.drop": "Drop a PNG, JPEG, WebP, BMP or GIF here, or choose a file",
      "image.choose": "Choose image",
      "image.uploading": "Uploading…",
      "image.ready": "{w}×{h} px",
      "image.pixelArt": "pixel art",
      "image.none": "No image yet.",
      "image.tooBig": "The file is {size}; this server accepts at most {max}.",
      "image.tooBigHint": "Shrink or crop the image, or save it as PNG.",
      "what.legend": "2. What should it do?",
      "what.modePrompt": "Describe it",
      "what.modeActions": "Pick actions",
      "what.prompt": "Action description (English or Chinese)",
      "what.promptPlaceholder": "waves hello · walks then jumps · 挥手",
      "what.actionsHint": "One clip per action, all on the same canvas (good for sprite sheets).",
      "what.loops": "loops",
      "what.oneShot": "one-shot",
      "settings.legend": "3. Settings",
      "settings.engine": "Engine",
      "settings.default": "default",
      "settings.length": "Length",
      "settings.frames": "frames",
      "settings.seconds": "seconds",
      "settings.lengthValue": "Length value",
      "settings.fps": "Frames per second",
      "settings.size": "Output size (square side, px)",
      "settings.sizePlaceholder": "native",
      "settings.seed": "Seed",
      "settings.loop": "Loop seamlessly",
      "settings.background": "Background",
      "settings.transparent": "Transparent",
      "settings.color": "Colour",
      "settings.colorValue": "Background colour",
      "settings.mp4Hint": "MP4 cannot store transparency.",
      "outputs.legend": "4. Outputs",
      "outputs.sheet": "sprite sheet",
      "outputs.frames": "PNG frames",
      "outputs.atlases": "Atlas formats for the sheet",
      "submit": "Generate",
      "submitting": "Sending…",
      "submitted": "Queued as {id}.",
      "error.title": "That did not work",
      "error.network": "The server could not be reached.",
      "error.networkHint": "Check that `kinema serve` is still running, then try again.",
      "error.unauthorized": "The server needs an access token.",
      "error.unauthorizedHint": "Enter the token `kinema serve --token` was started with under “Access token”.",
      "error.busy": "Too many unfinished tasks for this token.",
      "error.busyHint": "Wait for a task to finish or cancel one; retry in about {s} s.",
      "error.noImage": "Choose a character image first.",
      "error.noImageHint": "Drop an image on the box above or use “Choose image”.",
      "error.noPrompt": "Say what the character should do.",
      "error.noPromptHint": "Type an action such as “waves hello”, or switch to “Pick actions”.",
      "error.noActions": "Pick at least one action.",
      "error.noActionsHint": "Tick the actions you want, or switch to “Describe it”.",
      "error.noOutputs": "Pick at least one output format.",
      "error.noOutputsHint": "MP4 and GIF suit most uses; a sprite sheet suits game engines.",
      "error.loadFailed": "Could not load {what}.",
      "tasks.heading": "Results",
      "tasks.refresh": "Refresh",
      "tasks.more": "Load more",
      "tasks.empty": "No tasks yet. Your clips appear here.",
      "tasks.cancel": "Cancel",
      "tasks.downloads": "Downloads",
      "tasks.created": "Created {t}",
      "tasks.took": "took {s} s",
      "tasks.stage": "stage: {stage}",
      "tasks.readAs": "read as: {r}",
      "tasks.preview": "Preview of {what}",
      "tasks.live": "live",
      "tasks.polling": "polling",
      "status.PENDING": "Pending",
      "status.RUNNING": "Running",
      "status.SUCCEEDED": "Done",
      "status.FAILED": "Failed",
      "status.CANCELLED": "Cancelled",
      "loading": "Loading…"
    },
    zh: {
      "app.title": "Kinema —— 让角色动起来",
      "app.tagline": "给一张角色图和一个动作，得到游戏引擎可直接导入的动画。",
      "lang.label": "语言",
      "token.summary": "访问令牌",
      "token.label": "令牌（仅当服务器以 --token 启动时需要）",
      "token.save": "保存令牌",
      "token.clear": "清除",
      "token.saved": "令牌已保存在此浏览器中。",
      "token.cleared": "令牌已清除。",
      "create.heading": "新建动画",
      "image.legend": "1. 角色图片",
      "image.drop": "将 PNG、JPEG、WebP、BMP 或 GIF 拖到这里，或选择文件",
      "image.choose": "选择图片",
      "image.uploading": "上传中…",
      "image.ready": "{w}×{h} 像素",
      "image.pixelArt": "像素画",
      "image.none": "还没有图片。",
      "image.tooBig": "文件大小为 {size}，服务器最多接受 {max}。",
      "image.tooBigHint": "请缩小或裁剪图片，或另存为 PNG。",
      "what.legend": "2. 要做什么动作？",
      "what.modePrompt": "文字描述",
      "what.modeActions": "选择动作",
      "what.prompt": "动作描述（中文或英文）",
      "what.promptPlaceholder": "挥手 · 走两步然后跳 · waves hello",
      "what.actionsHint": "每个动作一段动画，画布相同（适合做精灵图）。",
      "what.loops": "循环",
      "what.oneShot": "单次",
      "settings.legend": "3. 设置",
      "settings.engine": "引擎",
      "settings.default": "默认",
      "settings.length": "时长",
      "settings.frames": "帧",
      "settings.seconds": "秒",
      "settings.lengthValue": "时长数值",
      "settings.fps": "帧率（每秒帧数）",
      "settings.size": "输出尺寸（正方形边长，像素）",
      "settings.sizePlaceholder": "原始",
      "settings.seed": "随机种子",
      "settings.loop": "无缝循环",
      "settings.background": "背景",
      "settings.transparent": "透明",
      "settings.color": "颜色",
      "settings.colorValue": "背景颜色",
      "settings.mp4Hint": "MP4 不支持透明背景。",
      "outputs.legend": "4. 输出格式",
      "outputs.sheet": "精灵图",
      "outputs.frames": "PNG 帧序列",
      "outputs.atlases": "精灵图的图集格式",
      "submit": "生成",
      "submitting": "正在提交…",
      "submitted": "已加入队列：{id}。",
      "error.title": "出错了",
      "error.network": "无法连接服务器。",
      "error.networkHint": "请确认 `kinema serve` 仍在运行，然后重试。",
      "error.unauthorized": "服务器需要访问令牌。",
      "error.unauthorizedHint": "在“访问令牌”中输入启动 `kinema serve --token` 时使用的令牌。",
      "error.busy": "此令牌未完成的任务太多。",
      "error.busyHint": "请等待任务完成或取消一个任务；约 {s} 秒后重试。",
      "error.noImage": "请先选择角色图片。",
      "error.noImageHint": "把图片拖到上方的框中，或点击“选择图片”。",
      "error.noPrompt": "请说明角色要做什么。",
      "error.noPromptHint": "输入一个动作，例如“挥手”，或切换到“选择动作”。",
      "error.noActions": "请至少选择一个动作。",
      "error.noActionsHint": "勾选需要的动作，或切换到“文字描述”。",
      "error.noOutputs": "请至少选择一种输出格式。",
      "error.noOutputsHint": "MP4 和 GIF 适合大多数用途；精灵图适合游戏引擎。",
      "error.loadFailed": "无法加载{what}。",
      "tasks.heading": "结果",
      "tasks.refresh": "刷新",
      "tasks.more": "加载更多",
      "tasks.empty": "还没有任务。生成的动画会显示在这里。",
      "tasks.cancel": "取消",
      "tasks.downloads": "下载",
      "tasks.created": "创建于 {t}",
      "tasks.took": "耗时 {s} 秒",
      "tasks.stage": "阶段：{stage}",
      "tasks.readAs": "理解为：{r}",
      "tasks.preview": "{what} 的预览",
      "tasks.live": "实时",
      "tasks.polling": "轮询",
      "status.PENDING": "排队中",
      "status.RUNNING": "生成中",
      "status.SUCCEEDED": "已完成",
      "status.FAILED": "失败",
      "status.CANCELLED": "已取消",
      "loading": "加载中…"
    }
  };

  const STORE_KEY = "kinema.lang";
  const listeners = [];

  function browserLanguage() {
    const langs = navigator.languages && navigator.languages.length
      ? navigator.languages
      : [navigator.language || "en"];
    for (const l of langs) {
      const tag = String(l).toLowerCase();
      if (tag.startsWith("zh")) return "zh";
      if (tag.startsWith("en")) return "en";
    }
    return "en";
  }

  function stored() {
    try {
      const v = localStorage.getItem(STORE_KEY);
      return v && STRINGS[v] ? v : null;
    } catch (_) {
      return null; // storage can be disabled; the browser language still works
    }
  }

  let current = stored() || browserLanguage();

  /** Looks a key up in the current language; `{name}` placeholders come from `vars`. */
  function t(key, vars) {
    const table = STRINGS[current] || STRINGS.en;
    let s = table[key];
    if (s === undefined) s = STRINGS.en[key];
    if (s === undefined) s = key; // a missing key shows itself, so tests catch it
    if (vars) {
      s = s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
    }
    return s;
  }

  /** Fills every element marked with data-i18n (text) or data-i18n-ATTR (attribute). */
  function apply(root) {
    const scope = root || document;
    document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
    scope.querySelectorAll("[data-i18n]").forEach((el) => {
      el.textContent = t(el.dataset.i18n);
    });
    for (const attr of ["placeholder", "title", "aria-label"]) {
      const data = "data-i18n-" + attr;
      scope.querySelectorAll("[" + data + "]").forEach((el) => {
        el.setAttribute(attr, t(el.getAttribute(data)));
      });
    }
  }

  function setLanguage(lang) {
    if (!STRINGS[lang]) return;
    current = lang;
    try {
      localStorage.setItem(STORE_KEY, lang);
    } catch (_) {
      /* not remembered, still switched */
    }
    apply();
    listeners.forEach((fn) => fn(lang));
  }

  window.KinemaI18n = {
    t,
    apply,
    setLanguage,
    language: () => current,
    languages: () => Object.keys(STRINGS),
    onChange: (fn) => listeners.push(fn),
    strings: STRINGS
  };
})();
