// End-to-end test of the `kinema serve` page in a real Chromium, driven by playwright-core.
//
//   node e2e.mjs URL SCREENSHOT_PATH
//
// Uploads a sample character, generates a clip from a prompt and an action set, follows
// them live, checks the previews decode, downloads MP4 and GIF through the page's buttons
// and checks their magic bytes, shows a failing submit's readable error, switches to
// Chinese, and saves screenshots (SCREENSHOT_PATH, and its `-zh` sibling). Exits non-zero
// with a message on the first failed check. CHROMIUM overrides the browser path;
// KINEMA_E2E_TOKEN runs the shorter token flow against a server started with --token.
import { readFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SAMPLE = path.resolve(HERE, "../../../../samples/characters/femaleAdventurer_idle.png");
const TASK_TIMEOUT_MS = 180_000;
// Set when the server runs with --token: the page must ask for it, then use it everywhere.
const TOKEN = process.env.KINEMA_E2E_TOKEN || "";
const TOTAL_TIMEOUT_MS = 420_000;

const [url, shotPath] = process.argv.slice(2);
if (!url || !shotPath) {
  console.error("usage: node e2e.mjs URL SCREENSHOT_PATH");
  process.exit(2);
}
const shotZh = shotPath.replace(/(\.png)?$/i, "-zh.png");

// A wedged browser or server must fail the run, never hang it.
const deadline = setTimeout(() => {
  console.error(`E2E FAILED: no result within ${TOTAL_TIMEOUT_MS / 1000} s`);
  process.exit(1);
}, TOTAL_TIMEOUT_MS);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function log(message) {
  console.log(`e2e: ${message}`);
}

function browserPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const p of ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]) {
    if (existsSync(p)) return p;
  }
  throw new Error("no Chromium found; install it with: apt-get install -y chromium");
}

/** Submits the form and returns the task id from the API's answer. */
async function submitAndGetId(page) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().includes("/v1/image_to_video") && r.request().method() === "POST"),
    page.click("#submit")
  ]);
  const body = await response.json().catch(() => null);
  return { status: response.status(), body };
}

/** Waits until the task's card reaches a final state; fails with the card's error text. */
async function waitForTask(page, id) {
  const card = page.locator(`li.task[data-id="${id}"]`);
  await card.waitFor({ timeout: 10_000 });
  await page.waitForFunction(
    (taskId) => {
      const el = document.querySelector(`li.task[data-id="${taskId}"]`);
      return el && ["SUCCEEDED", "FAILED", "CANCELLED"].includes(el.dataset.status);
    },
    id,
    { timeout: TASK_TIMEOUT_MS, polling: 250 }
  );
  const status = await card.getAttribute("data-status");
  if (status !== "SUCCEEDED") {
    const text = await card.innerText();
    throw new Error(`task ${id} ended ${status}:\n${text}`);
  }
  return card;
}

/** Every preview in the card decoded: images have pixels, videos have frames. */
async function checkPreviews(page, id, expected) {
  await page.waitForFunction(
    ([taskId, count]) => {
      const media = document.querySelectorAll(`li.task[data-id="${taskId}"] .previews img, li.task[data-id="${taskId}"] .previews video`);
      if (media.length < count) return false;
      return Array.from(media).every((m) => (m.tagName === "IMG" ? m.complete && m.naturalWidth > 0 : m.readyState >= 2));
    },
    [id, expected],
    { timeout: 30_000, polling: 200 }
  );
}

async function download(page, id, format) {
  const link = page.locator(`li.task[data-id="${id}"] a.download[data-format="${format}"]`).first();
  check((await link.count()) > 0, `task ${id} has no ${format} download button`);
  const [dl] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), link.click()]);
  const failure = await dl.failure();
  check(!failure, `${format} download failed: ${failure}`);
  const bytes = await readFile(await dl.path());
  log(`downloaded ${dl.suggestedFilename()} (${bytes.length} bytes)`);
  return bytes;
}

/** Form controls without an accessible name are unusable with a screen reader. */
async function unlabelledControls(page) {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll("input, select, textarea, button"))
      .filter((c) => c.type !== "hidden")
      .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute("aria-label")
        && !c.getAttribute("aria-labelledby") && !c.textContent.trim())
      .map((c) => c.outerHTML.slice(0, 120)));
}

async function run() {
  check(existsSync(SAMPLE), `sample image missing: ${SAMPLE}`);
  await mkdir(path.dirname(path.resolve(shotPath)), { recursive: true });
  const browser = await chromium.launch({
    executablePath: browserPath(),
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
  });
  try {
    const context = await browser.newContext({
      viewport: { width: 1366, height: 768 },
      locale: "en-US",
      acceptDownloads: true
    });
    const page = await context.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const eventStreams = [];
    page.on("request", (r) => {
      if (r.url().includes("/v1/events/")) eventStreams.push(r.url());
    });

    await page.goto(url, { waitUntil: "load" });
    if (TOKEN) {
      // Without the token the API refuses; the page must say so and offer the token field.
      await page.waitForSelector("#form-error:not([hidden])", { timeout: 15_000 });
      check(await page.isVisible("#token"), "a 401 did not open the access-token field");
      log(`before the token: ${(await page.innerText("#form-error")).replace(/\s+/g, " ")}`);
      await page.fill("#token", TOKEN);
      await page.click("#token-form button[type=submit]");
    }
    await page.waitForSelector("#engine option", { state: "attached", timeout: 15_000 });
    await page.waitForSelector("#formats input[value=mp4]", { state: "attached" });
    await page.waitForSelector("#action-list input[name=action]", { state: "attached" });
    check((await page.textContent("#create-heading")) === "New clip", "page did not start in English for an en-US browser");
    const unlabelled = await unlabelledControls(page);
    check(unlabelled.length === 0, `controls without a label:\n${unlabelled.join("\n")}`);

    // 1. Upload the character and ask for a prompt clip as MP4 + GIF.
    await page.setInputFiles("#image-file", SAMPLE);
    await page.waitForFunction(() => /96\s*×\s*128/.test(document.querySelector("#image-info").textContent), null, { timeout: 30_000 });
    await page.fill("#prompt", "waves hello");
    await page.check("#formats input[value=mp4]");
    await page.check("#formats input[value=gif]");
    const first = await submitAndGetId(page);
    check(first.status === 202 || first.status === 200, `submit answered ${first.status}: ${JSON.stringify(first.body)}`);
    const id = first.body.id;
    log(`submitted ${id}`);
    await waitForTask(page, id);
    log(`${id} succeeded`);
    await checkPreviews(page, id, 1);
    check(eventStreams.some((u) => u.includes(id)), "the page never opened the SSE stream for the task");
    const sseEvents = Number(await page.getAttribute(`li.task[data-id="${id}"]`, "data-sse-events"));
    check(sseEvents > 0, "the task finished without one SSE event reaching the page");
    log(`${sseEvents} SSE events reached the page`);

    const mp4 = await download(page, id, "mp4");
    check(mp4.length > 8 && mp4.subarray(4, 8).toString("latin1") === "ftyp", "the MP4 download has no ftyp box");
    const gif = await download(page, id, "gif");
    check(gif.length > 6 && /^GIF8[79]a$/.test(gif.subarray(0, 6).toString("latin1")), "the GIF download is not a GIF");

    if (TOKEN) {
      // Token mode checks the header-carrying paths (SSE ?access_token=, blob downloads).
      await page.screenshot({ path: shotPath });
      console.log(`SCREENSHOT ${path.resolve(shotPath)}`);
      check(pageErrors.length === 0, `JavaScript errors on the page:\n${pageErrors.join("\n")}`);
      return;
    }

    // 2. An action set with a sprite sheet: one preview per action.
    await page.check("input[name=mode][value=actions]");
    await page.check("#action-list input[value=idle]");
    await page.check("#action-list input[value=jump]");
    await page.uncheck("#formats input[value=mp4]");
    await page.check("#formats input[value=sheet]");
    await page.check("#atlases input[value=godot]");
    await page.fill("#length", "8");
    const second = await submitAndGetId(page);
    check(second.status === 202 || second.status === 200, `action-set submit answered ${second.status}: ${JSON.stringify(second.body)}`);
    await waitForTask(page, second.body.id);
    await checkPreviews(page, second.body.id, 2);
    const sheetLinks = await page.locator(`li.task[data-id="${second.body.id}"] a.download`).count();
    check(sheetLinks >= 3, `the action-set task shows only ${sheetLinks} download buttons`);
    log(`${second.body.id} succeeded with ${sheetLinks} downloads`);

    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shotPath });
    console.log(`SCREENSHOT ${path.resolve(shotPath)}`);

    // 3. A failing submit (an action the engine does not know) shows message and hint.
    await page.check("input[name=mode][value=prompt]");
    await page.fill("#prompt", "moonwalks backwards");
    const bad = await submitAndGetId(page);
    let errorText;
    if (bad.status >= 400) {
      await page.waitForSelector("#form-error:not([hidden])", { timeout: 10_000 });
      errorText = await page.innerText("#form-error");
    } else {
      const badId = bad.body.id;
      await page.waitForSelector(`li.task[data-id="${badId}"][data-status=FAILED] .task-error:not([hidden])`, { timeout: TASK_TIMEOUT_MS });
      errorText = await page.innerText(`li.task[data-id="${badId}"] .task-error`);
    }
    check(/moonwalk/i.test(errorText), `the error does not say what was wrong:\n${errorText}`);
    check(errorText.trim().split("\n").filter((l) => l.trim()).length >= 2, `the error has no hint:\n${errorText}`);
    log(`failing submit shows: ${errorText.replace(/\s+/g, " ").trim()}`);

    // 4. Chinese by the switch, and the layout at phone width.
    await page.fill("#prompt", "挥手");
    await page.selectOption("#lang", "zh");
    check((await page.textContent("#create-heading")) === "新建动画", "the heading did not switch to Chinese");
    check((await page.textContent("#submit")) === "生成", "the submit button did not switch to Chinese");
    check((await page.getAttribute("html", "lang")) === "zh-CN", "<html lang> did not switch to zh-CN");
    const badge = await page.textContent(`li.task[data-id="${id}"] .badge`);
    check(badge === "已完成", `the task status did not switch to Chinese: ${badge}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: shotZh });
    console.log(`SCREENSHOT ${path.resolve(shotZh)}`);

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(overflow <= 1, `the page scrolls sideways by ${overflow}px at 390px width`);

    // 5. A Chinese browser gets Chinese without touching the switch.
    const zhContext = await browser.newContext({ locale: "zh-CN" });
    const zhPage = await zhContext.newPage();
    await zhPage.goto(url, { waitUntil: "load" });
    check((await zhPage.textContent("#create-heading")) === "新建动画", "a zh-CN browser did not get Chinese");
    await zhContext.close();

    check(pageErrors.length === 0, `JavaScript errors on the page:\n${pageErrors.join("\n")}`);
    await context.close();
  } finally {
    await browser.close();
  }
}

run().then(
  () => {
    clearTimeout(deadline);
    console.log("E2E OK");
  },
  (e) => {
    clearTimeout(deadline);
    console.error(`E2E FAILED: ${e && e.stack ? e.stack : e}`);
    process.exit(1);
  }
);
