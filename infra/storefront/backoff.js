// How often the storefront asks, and how long it waits after a 429 (too many requests).
// Plain browser JavaScript, no build step; also loaded by tests/browser/backoff.test.mjs.
"use strict";

(function (root) {
  // Status polling: every 1.5 s for the first minute an order is on screen, then slower and
  // slower, reaching every 10 s five minutes in (most shoppers pay within the first minute).
  const POLL_FAST_MS = 1500;
  const POLL_FAST_FOR_MS = 60 * 1000;
  const POLL_SLOW_MS = 10 * 1000;
  const POLL_SLOW_FROM_MS = 5 * 60 * 1000;

  // After a 429: the server's Retry-After when it sends one (within 1 s … 2 min), else
  // exponential from 2 s, doubling per refusal up to 1 min, with jitter so that shoppers
  // refused together do not come back together.
  const BACKOFF_FIRST_MS = 2000;
  const BACKOFF_MAX_MS = 60 * 1000;
  const RETRY_AFTER_MIN_MS = 1000;
  const RETRY_AFTER_MAX_MS = 2 * 60 * 1000;

  /** Milliseconds before the next status poll, `elapsedMs` after the order was first shown. */
  function pollIntervalMs(elapsedMs) {
    const elapsed = Number.isFinite(elapsedMs) ? Math.max(0, elapsedMs) : 0;
    if (elapsed <= POLL_FAST_FOR_MS) return POLL_FAST_MS;
    if (elapsed >= POLL_SLOW_FROM_MS) return POLL_SLOW_MS;
    const share = (elapsed - POLL_FAST_FOR_MS) / (POLL_SLOW_FROM_MS - POLL_FAST_FOR_MS);
    return Math.round(POLL_FAST_MS + share * (POLL_SLOW_MS - POLL_FAST_MS));
  }

  /** A Retry-After header (seconds, or an HTTP date) as milliseconds from `nowMs`; null if absent or unreadable. */
  function parseRetryAfter(value, nowMs) {
    if (typeof value !== "string" || value.trim() === "") return null;
    const text = value.trim();
    if (/^\d+$/.test(text)) return Number(text) * 1000;
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    return Math.max(0, at - nowMs);
  }

  /**
   * Milliseconds to wait before trying again after the `attempt`-th 429 in a row (1, 2, …).
   * `retryAfterMs` is the server's Retry-After (or null); `random` returns [0, 1).
   */
  function backoffMs(attempt, retryAfterMs, random) {
    if (typeof retryAfterMs === "number" && Number.isFinite(retryAfterMs)) {
      return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, Math.round(retryAfterMs)));
    }
    const n = Number.isInteger(attempt) && attempt > 0 ? attempt : 1;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(n - 1, 30));
    const draw = typeof random === "function" ? random() : Math.random();
    // "Equal jitter": between half the ceiling and the ceiling.
    return Math.round(ceiling / 2 + (Math.min(Math.max(draw, 0), 1) * ceiling) / 2);
  }

  const exported = { pollIntervalMs, parseRetryAfter, backoffMs, POLL_FAST_MS, POLL_SLOW_MS };
  if (typeof module === "object" && module && module.exports) module.exports = exported;
  else root.StorefrontBackoff = Object.freeze(exported);
})(typeof window !== "undefined" ? window : globalThis);
