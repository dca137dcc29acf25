// The API client of the serve page: the bearer token, JSON calls with the API's error
// bodies turned into readable errors, safe retries, and authorised media URLs.
"use strict";

window.Kinema = window.Kinema || {};

(function (K) {
  const t = window.KinemaI18n.t;
  const TOKEN_KEY = "kinema.token";
  const blobs = new Map(); // output URL → object URL, only used when a token is set

  function token() {
    try {
      return localStorage.getItem(TOKEN_KEY) || "";
    } catch (_) {
      return "";
    }
  }

  /** Stores the token for later visits; an empty one is forgotten. */
  function saveToken(value) {
    try {
      if (value) localStorage.setItem(TOKEN_KEY, value);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (_) {
      /* storage disabled: the token is simply not remembered */
    }
    blobs.forEach((objectUrl) => URL.revokeObjectURL(objectUrl));
    blobs.clear();
  }

  /** A failure the page can explain: the API's own message and hint when it sent one. */
  class ApiError extends Error {
    constructor(status, code, message, hint, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.hint = hint || "";
      this.retryAfter = retryAfter;
    }
  }

  function userError(key) {
    return new ApiError(0, "form", t("error." + key), t("error." + key + "Hint"));
  }

  async function api(path, options) {
    const opts = options || {};
    const headers = new Headers(opts.headers || {});
    const tok = token();
    if (tok) headers.set("Authorization", "Bearer " + tok);
    let body = opts.body;
    if (opts.json !== undefined) {
      headers.set("Content-Type", "application/json");
      body = JSON.stringify(opts.json);
    }
    let res;
    try {
      res = await fetch(path, { method: opts.method || "GET", headers, body });
    } catch (_) {
      throw new ApiError(0, "network", t("error.network"), t("error.networkHint"));
    }
    const text = await res.text().catch(() => "");
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const retryAfter = Number(res.headers.get("Retry-After")) || 0;
      if (res.status === 401 || res.status === 403) {
        throw new ApiError(res.status, err.code || "unauthorized",
          err.message || t("error.unauthorized"), err.hint || t("error.unauthorizedHint"));
      }
      if (res.status === 429) {
        throw new ApiError(429, err.code || "too_many_tasks", err.message || t("error.busy"),
          err.hint || t("error.busyHint", { s: retryAfter || 5 }), retryAfter);
      }
      throw new ApiError(res.status, err.code || "http_" + res.status,
        err.message || "HTTP " + res.status + " " + res.statusText, err.hint || "");
    }
    return { status: res.status, data };
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Retries only when the outcome is unknown (network, gateway); the caller's
   *  Idempotency-Key makes a retried submit return the first task, never a second one. */
  async function withRetry(call) {
    const delays = [500, 1500];
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        const unknown = e.status === 0 || e.status === 502 || e.status === 503 || e.status === 504;
        if (!unknown || attempt >= delays.length) throw e;
        await sleep(delays[attempt]);
      }
    }
  }

  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // works on plain-http LAN addresses too
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** With a token, <img>/<video> cannot send the Authorization header: fetch a blob. */
  async function mediaUrl(url) {
    if (!token()) return url;
    if (blobs.has(url)) return blobs.get(url);
    const res = await fetch(url, { headers: { Authorization: "Bearer " + token() } });
    if (!res.ok) throw new Error("HTTP " + res.status);
    const objectUrl = URL.createObjectURL(await res.blob());
    blobs.set(url, objectUrl);
    return objectUrl;
  }

  K.TERMINAL = ["SUCCEEDED", "FAILED", "CANCELLED"];
  Object.assign(K, { token, saveToken, ApiError, userError, api, sleep, withRetry, newKey, mediaUrl });
})(window.Kinema);
