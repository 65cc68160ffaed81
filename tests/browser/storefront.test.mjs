// The storefront in real headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
// against a running local stack. Run with: STOREFRONT_URL=… SIM_URL=… node --test
//
//   STOREFRONT_URL  the storefront page, e.g. http://127.0.0.1:3000/
//   SIM_URL         the WeChat Pay simulator's base URL, e.g. http://127.0.0.1:3000 (POST {SIM_URL}/sim/scan)
//   CHROMIUM_PATH   optional, default /usr/bin/chromium
//
// Missing variables fail the tests: nothing is skipped.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const HERE = dirname(fileURLToPath(import.meta.url));
const SCREENSHOTS = join(HERE, "screenshots");
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const PAID_TIMEOUT_MS = 30_000;

function requiredEnv() {
  const missing = ["STOREFRONT_URL", "SIM_URL"].filter((name) => !process.env[name]);
  if (missing.length) {
    throw new Error(`${missing.join(" and ")} must be set (e.g. STOREFRONT_URL=http://127.0.0.1:3000/ `
      + "SIM_URL=http://127.0.0.1:3000); the project's test script starts the local stack and sets them");
  }
  return { storefrontUrl: process.env.STOREFRONT_URL, simUrl: process.env.SIM_URL.replace(/\/+$/, "") };
}

let context = null;
let userDataDir = null;

before(async () => {
  if (!process.env.STOREFRONT_URL || !process.env.SIM_URL) return; // each test fails with the reason
  await mkdir(SCREENSHOTS, { recursive: true });
  userDataDir = await mkdtemp(join(tmpdir(), "storefront-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
    locale: "en-US",
    timezoneId: "Asia/Shanghai",
  });
});

after(async () => {
  if (context) await context.close();
  if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
});

/**
 * A fresh tab on the storefront; uncaught page errors are collected to fail the test.
 * `beforeLoad(page)` runs before the page is opened (e.g. to intercept its requests).
 */
async function openStorefront(t, beforeLoad = async () => {}) {
  const { storefrontUrl } = requiredEnv();
  assert.ok(context, "Chromium did not start");
  const page = await context.newPage();
  const pageErrors = [];
  page.on("pageerror", (err) => pageErrors.push(err));
  page.on("console", (msg) => {
    if (msg.type() === "error") t.diagnostic(`browser console: ${msg.text()}`);
  });
  page.setDefaultTimeout(15_000);
  await beforeLoad(page);
  await page.goto(storefrontUrl, { waitUntil: "domcontentloaded" });
  return { page, pageErrors };
}

/** Clicks the first product's buy button and waits for the order panel; returns what it shows. */
async function buyFirstProduct(page) {
  const buy = page.locator('#products [data-testid^="buy-"]').first();
  await buy.waitFor({ state: "visible" });
  const productPrice = (await page.locator("#products .product").first().locator(".price").textContent()).trim();
  await buy.click();

  await page.locator("#qr svg").waitFor({ state: "visible" });
  const orderNo = (await page.locator("#order-no").textContent()).trim();
  const codeUrl = await page.locator("#qr").getAttribute("data-code-url");
  assert.match(orderNo, /^[0-9A-Za-z_\-|*]{6,32}$/, "order number as WeChat Pay allows it");
  assert.ok(codeUrl, "#qr carries data-code-url");
  assert.match(codeUrl, /^weixin:\/\//, "code_url is a weixin:// URL");

  const amount = (await page.locator("#amount").textContent()).trim();
  assert.match(amount, /^¥\d+\.\d{2}$/, "amount in yuan with two decimals");
  assert.equal(amount, productPrice, "the order's amount is the product's price");
  await page.waitForFunction(() => /^\d{2}:\d{2}$/.test(document.getElementById("countdown").textContent));
  assert.equal(await page.locator("#status").getAttribute("data-status"), "NOTPAY");
  return { orderNo, codeUrl, amount };
}

async function scanAndPay(simUrl, codeUrl) {
  const res = await fetch(`${simUrl}/sim/scan`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ code_url: codeUrl }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  assert.ok(res.ok, `POST ${simUrl}/sim/scan answered ${res.status}: ${body}`);
}

async function screenshotOnFailure(page, name, fn) {
  try {
    await fn();
  } catch (err) {
    await page.screenshot({ path: join(SCREENSHOTS, `failed-${name}.png`), fullPage: true }).catch(() => {});
    throw err;
  }
}

test("a shopper buys, pays by scanning in the simulator, and sees the order paid", { timeout: 120_000 }, async (t) => {
  const { simUrl } = requiredEnv();
  const { page, pageErrors } = await openStorefront(t);
  await screenshotOnFailure(page, "paid", async () => {
    const { orderNo, codeUrl } = await buyFirstProduct(page);

    const token = await page.evaluate(() => localStorage.getItem("storefront.buyerToken"));
    assert.match(token ?? "", /^[0-9a-f]{32,}$/, "a ≥128-bit hex buyer token is kept in localStorage");
    const simLink = page.locator("#sim-link");
    assert.ok(await simLink.isVisible(), "the simulator link is shown on a local run");
    assert.match(await simLink.getAttribute("href"), /\/sim$/);

    await scanAndPay(simUrl, codeUrl);

    const status = page.locator("#status");
    await page.locator('#status[data-status="SUCCESS"]').waitFor({ timeout: PAID_TIMEOUT_MS });
    assert.match(await status.textContent(), /(?<![a-z])paid\b/i);
    assert.equal(await page.locator("#cancel").isVisible(), false, "no cancel button once paid");

    const row = page.locator(`#orders li[data-order-no="${orderNo}"]`);
    await page.locator(`#orders li[data-order-no="${orderNo}"][data-status="SUCCESS"]`).waitFor();
    assert.match(await row.textContent(), /(?<![a-z])paid\b/i);

    await page.screenshot({ path: join(SCREENSHOTS, "storefront-paid.png"), fullPage: true });
    assert.deepEqual(pageErrors.map(String), [], "no uncaught errors in the page");
  });
  await page.close();
});

test("a shopper cancels an open order and sees it cancelled", { timeout: 120_000 }, async (t) => {
  requiredEnv();
  const { page, pageErrors } = await openStorefront(t);
  await page.setViewportSize({ width: 390, height: 844 }); // a phone
  await screenshotOnFailure(page, "cancelled", async () => {
    const { orderNo } = await buyFirstProduct(page);

    await page.locator("#cancel").click();
    await page.locator('#status[data-status="CANCELLED"]').waitFor();
    assert.match(await page.locator("#status").textContent(), /(?<![a-z])cancelled\b/i);

    const row = page.locator(`#orders li[data-order-no="${orderNo}"]`);
    await page.locator(`#orders li[data-order-no="${orderNo}"][data-status="CANCELLED"]`).waitFor();
    assert.match(await row.textContent(), /(?<![a-z])cancelled\b/i);

    await page.screenshot({ path: join(SCREENSHOTS, "storefront-cancelled-phone.png"), fullPage: true });
    assert.deepEqual(pageErrors.map(String), [], "no uncaught errors in the page");
  });
  await page.close();
});

/** Answers the first `count` requests matching `pattern` with 429 as API Gateway throttling does; logs when. */
async function throttleFirst(page, pattern, count, retryAfter) {
  const refusedAt = [];
  let seen = 0;
  await page.route(pattern, async (route) => {
    seen += 1;
    if (seen > count) return route.continue();
    refusedAt.push(Date.now());
    const headers = { "Content-Type": "application/json" };
    if (retryAfter != null) headers["Retry-After"] = String(retryAfter);
    return route.fulfill({ status: 429, headers, body: JSON.stringify({ message: "Too Many Requests" }) });
  });
  return refusedAt;
}

/** Resolves with the first text of `selector` that matches `re`, watching every change. */
function watchText(page, selector, re) {
  return page.waitForFunction(([sel, source]) => {
    const el = document.querySelector(sel);
    if (!el) return false;
    if (!window.__seen) window.__seen = {};
    if (new RegExp(source).test(el.textContent)) window.__seen[sel] = el.textContent;
    return window.__seen[sel] || false;
  }, [selector, re.source], { polling: 50 });
}

test("on 429 the storefront says so calmly, backs off as told, and carries on", { timeout: 120_000 }, async (t) => {
  const { simUrl } = requiredEnv();
  let listRefused = [];
  let statusRefused = [];
  const { page, pageErrors } = await openStorefront(t, async (p) => {
    listRefused = await throttleFirst(p, "**/api/product/list", 1, 2);
    statusRefused = await throttleFirst(p, "**/api/order-info/query-order-status/**", 2, null);
  });
  await screenshotOnFailure(page, "throttled", async () => {
    const busy = await watchText(page, "#products-state", /very busy.*again in 2 s/);
    assert.match(await busy.jsonValue(), /very busy/);
    const { codeUrl } = await buyFirstProduct(page);
    assert.equal(listRefused.length, 1);

    const detail = await watchText(page, "#status-detail", /Many shoppers are checking right now/);
    assert.match(await detail.jsonValue(), /look again in \d+ s/);
    await scanAndPay(simUrl, codeUrl);
    await page.locator('#status[data-status="SUCCESS"]').waitFor({ timeout: PAID_TIMEOUT_MS });
    assert.equal(statusRefused.length, 2);
    // Without Retry-After the second refusal waited 1–2 s (jittered exponential backoff from 2 s).
    const gap = statusRefused[1] - statusRefused[0];
    assert.ok(gap >= 900, `waited only ${gap} ms after a 429`);
    assert.deepEqual(pageErrors.map(String), [], "no uncaught errors in the page");
  });
  await page.close();
});
