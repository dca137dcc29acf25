// Small DOM and formatting helpers shared by the form and the results list.
"use strict";

window.Kinema = window.Kinema || {};

(function (K) {
  const I18N = window.KinemaI18n;
  const t = I18N.t;
  const $ = (selector) => document.querySelector(selector);

  function showError(box, err) {
    box.querySelector(".error-message").textContent = err.message || String(err);
    box.querySelector(".error-hint").textContent = err.hint || "";
    box.hidden = false;
    if (err.status === 401 || err.status === 403) {
      $("#token-box").open = true;
      $("#token").focus();
    }
  }

  function hideError(box) {
    box.hidden = true;
  }

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children || []) if (c) node.append(c);
    return node;
  }

  function formatBytes(n) {
    if (!(n >= 0)) return "";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function parseTime(v) {
    if (v === null || v === undefined || v === "") return null;
    const d = typeof v === "number" ? new Date(v < 1e12 ? v * 1000 : v) : new Date(v);
    return isNaN(d.getTime()) ? null : d;
  }

  function locale() {
    return I18N.language() === "zh" ? "zh-CN" : "en";
  }

  function formatLabel(f) {
    if (f === "sheet") return t("outputs.sheet");
    if (f === "frames") return t("outputs.frames");
    return f.toUpperCase();
  }

  Object.assign(K, { $, showError, hideError, el, formatBytes, parseTime, locale, formatLabel });
})(window.Kinema);
