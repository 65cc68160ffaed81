// The storefront's polling pace and 429 backoff (infra/storefront/backoff.js), in plain Node:
// the functions the page uses, loaded from the same file. Run with: node --test backoff.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { pollIntervalMs, parseRetryAfter, backoffMs } = require("../../infra/storefront/backoff.js");

test("status polling is 1.5 s for the first minute, then slows to 10 s by five minutes", () => {
  assert.equal(pollIntervalMs(0), 1500);
  assert.equal(pollIntervalMs(60_000), 1500);
  const later = [90_000, 120_000, 180_000, 240_000].map(pollIntervalMs);
  for (let i = 1; i < later.length; i += 1) assert.ok(later[i] > later[i - 1], `${later}`);
  assert.ok(later[0] > 1500 && later[3] < 10_000, `${later}`);
  assert.equal(pollIntervalMs(300_000), 10_000);
  assert.equal(pollIntervalMs(3_600_000), 10_000);
  assert.equal(pollIntervalMs(Number.NaN), 1500);
});

test("Retry-After is read as seconds or as an HTTP date", () => {
  const now = Date.parse("2024-05-01T00:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Wed, 01 May 2024 00:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Tue, 30 Apr 2024 23:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), null);
  assert.equal(parseRetryAfter("", now), null);
  assert.equal(parseRetryAfter("soon", now), null);
});

test("a 429 waits the server's Retry-After, kept within 1 s and 2 min", () => {
  assert.equal(backoffMs(1, 7000, () => 0.5), 7000);
  assert.equal(backoffMs(5, 7000, () => 0.5), 7000);
  assert.equal(backoffMs(1, 0, () => 0.5), 1000);
  assert.equal(backoffMs(1, 3_600_000, () => 0.5), 120_000);
});

test("without Retry-After a 429 backs off exponentially with jitter, up to 1 min", () => {
  const low = () => 0;
  const high = () => 0.999999;
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(n, null, low)), [1000, 2000, 4000, 8000]);
  assert.deepEqual([1, 2, 3, 4].map((n) => backoffMs(n, null, high)), [2000, 4000, 8000, 16_000]);
  assert.equal(backoffMs(10, null, high), 60_000);
  assert.equal(backoffMs(1000, null, low), 30_000);
  const draws = new Set(Array.from({ length: 50 }, () => backoffMs(3, null)));
  assert.ok(draws.size > 1, "jitter spreads the waits");
  for (const ms of draws) assert.ok(ms >= 4000 && ms <= 8000, `${ms}`);
});
