// Storefront for WeChat Pay Native (QR code) payments.
// Plain browser JavaScript, no build step. The HTTP API is ARCHITECTURE.md §3:
// every answer is the envelope {code, message, data}; code 0 means success.
"use strict";

(() => {
  // ---------------------------------------------------------------- configuration

  const { pollIntervalMs, parseRetryAfter, backoffMs } = window.StorefrontBackoff;
  // After the countdown ends, keep polling a while (slower) so the sweep's CLOSED,
  // or a payment that landed at the last second, still shows.
  const AFTER_EXPIRY_POLL_MS = 3000;
  const AFTER_EXPIRY_GRACE_MS = 3 * 60 * 1000;
  const REQUEST_TIMEOUT_MS = 15000;
  const BUY_ATTEMPTS = 3; // one click = up to 3 tries with the same Idempotency-Key
  const BUY_WAIT_MAX_MS = 10000; // a click waits at most this long between its tries
  const LOAD_ATTEMPTS = 5; // product and order lists: tries while the API answers 429
  // The envelope code of a 429 for a buyer with too many unpaid orders: waiting seconds won't help.
  const TOO_MANY_OPEN_ORDERS = 4291;
  const BUSY_MESSAGE = "The shop is very busy right now.";
  const TOKEN_KEY = "storefront.buyerToken";
  const CURRENT_ORDER_KEY = "storefront.currentOrder";

  const config = window.STOREFRONT_CONFIG && typeof window.STOREFRONT_CONFIG === "object"
    ? window.STOREFRONT_CONFIG : {};

  function metaContent(name) {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? (el.getAttribute("content") || "").trim() : "";
  }

  /** The API base: config.js, then <meta name="api-base">, then this page's origin. No trailing slash. */
  const apiBase = (() => {
    const raw = typeof config.apiBase === "string" && config.apiBase.trim() !== ""
      ? config.apiBase.trim() : metaContent("api-base");
    if (!raw) return location.origin;
    try {
      return new URL(raw, location.href).href.replace(/\/+$/, "");
    } catch {
      return location.origin;
    }
  })();
  const apiIsSameOrigin = new URL(apiBase).origin === location.origin;

  /** The simulator's shopper page, only when the API is on this origin (a local run). */
  const simulatorUrl = (() => {
    if (!apiIsSameOrigin) return null;
    let raw;
    if (config.simulator === false) return null;
    if (typeof config.simulator === "string" && config.simulator.trim() !== "") raw = config.simulator.trim();
    else if (config.simulator === true) raw = "/sim";
    else raw = metaContent("simulator");
    if (!raw) return null;
    try {
      const url = new URL(raw, location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  })();

  // ---------------------------------------------------------------- small helpers

  const $ = (id) => document.getElementById(id);

  function randomHex(bytes) {
    const buf = new Uint8Array(bytes);
    crypto.getRandomValues(buf);
    return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** ≥128 random bits, hex, kept in localStorage (in memory if storage is unavailable). */
  const buyerToken = (() => {
    try {
      const existing = localStorage.getItem(TOKEN_KEY);
      if (existing && /^[0-9a-f]{32,128}$/.test(existing)) return existing;
      const fresh = randomHex(16);
      localStorage.setItem(TOKEN_KEY, fresh);
      return fresh;
    } catch {
      return randomHex(16);
    }
  })();

  /** Integer fen → "¥12.34". */
  function formatFen(fen) {
    const n = Number(fen);
    if (!Number.isSafeInteger(n)) return "—";
    const sign = n < 0 ? "-" : "";
    const abs = Math.abs(n);
    return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, "0")}`;
  }

  function formatDateTime(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value ?? "");
    return d.toLocaleString(undefined, {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  }

  function formatTime(value) {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return "";
    return d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  // The order's expiry comes from the server's clock; estimate the offset from the Date
  // header (readable on the same origin; cross-origin only if the server exposes it).
  let serverClockOffsetMs = 0;
  function noteServerDate(response, sentAt, receivedAt) {
    const header = response.headers.get("Date");
    if (!header) return;
    const serverNow = Date.parse(header);
    if (Number.isNaN(serverNow)) return;
    const offset = serverNow + 500 - (sentAt + receivedAt) / 2; // Date has 1 s resolution
    // Only correct clocks that are clearly off; ignore noise.
    serverClockOffsetMs = Math.abs(offset) > 2000 ? offset : 0;
  }
  const serverNow = () => Date.now() + serverClockOffsetMs;

  // ---------------------------------------------------------------- API client

  class ApiError extends Error {
    constructor(message, { code = null, status = 0, network = false, data = null, retryAfterMs = null } = {}) {
      super(message);
      this.name = "ApiError";
      this.code = code;
      this.status = status;
      this.network = network;
      this.data = data;
      this.retryAfterMs = retryAfterMs;
    }
    /** Too many requests, and worth trying again after a pause (not the cap on unpaid orders). */
    get throttled() {
      return this.status === 429 && this.code !== TOO_MANY_OPEN_ORDERS;
    }
    /** Worth retrying with the same Idempotency-Key. */
    get transient() {
      return this.network || this.throttled || this.status === 502 || this.status === 503 || this.status === 504;
    }
  }

  /** "in 3 s" for a wait in milliseconds. */
  const inSeconds = (ms) => `in ${Math.max(1, Math.ceil(ms / 1000))} s`;

  /**
   * Calls the API and returns the envelope {code, message, data}.
   * Throws ApiError on network failure, on a non-JSON answer, and (unless allowNonZero) on code ≠ 0.
   */
  async function api(method, path, { headers = {}, allowNonZero = false } = {}) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    const sentAt = Date.now();
    let response;
    try {
      response = await fetch(apiBase + path, {
        method,
        headers: { Accept: "application/json", "X-Buyer-Token": buyerToken, ...headers },
        cache: "no-store",
        credentials: "omit",
        signal: controller.signal,
      });
    } catch (err) {
      const timedOut = err && err.name === "AbortError";
      throw new ApiError(
        timedOut ? "The server took too long to answer. Please try again."
          : "Network error: could not reach the server. Check your connection and try again.",
        { network: true },
      );
    } finally {
      clearTimeout(timer);
    }
    noteServerDate(response, sentAt, Date.now());
    const retryAfterMs = parseRetryAfter(response.headers.get("Retry-After"), Date.now());

    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!body || typeof body !== "object" || typeof body.code !== "number") {
      // API Gateway's own throttling answers 429 with {"message":"Too Many Requests"}.
      const message = response.status === 429 ? BUSY_MESSAGE
        : `The server answered HTTP ${response.status} without a readable message.`;
      throw new ApiError(message, { status: response.status, retryAfterMs });
    }
    const message = typeof body.message === "string" && body.message ? body.message : `Error ${body.code}`;
    if (response.status === 429 || (body.code !== 0 && !allowNonZero)) {
      throw new ApiError(message, { code: body.code, status: response.status, data: body.data ?? null, retryAfterMs });
    }
    return { code: body.code, message, data: body.data && typeof body.data === "object" ? body.data : {},
      status: response.status };
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- error banner

  function showError(message) {
    $("error-text").textContent = message;
    $("error").hidden = false;
  }
  function clearError() {
    $("error").hidden = true;
    $("error-text").textContent = "";
  }
  $("error-dismiss").addEventListener("click", clearError);

  // ---------------------------------------------------------------- products

  const products = new Map();

  async function loadProducts(attempt = 1) {
    const list = $("products");
    const state = $("products-state");
    $("products-retry").hidden = true;
    if (attempt === 1) state.textContent = "Loading products…";
    state.hidden = false;
    list.setAttribute("aria-busy", "true");
    try {
      const { data } = await api("GET", "/api/product/list");
      const items = Array.isArray(data.productList) ? data.productList : [];
      products.clear();
      list.replaceChildren();
      for (const p of items) {
        if (p == null || p.id == null) continue;
        products.set(String(p.id), p);
        list.append(productItem(p));
      }
      state.textContent = items.length ? "" : "No products for sale right now.";
      state.hidden = items.length > 0;
    } catch (err) {
      if (err instanceof ApiError && err.throttled && attempt < LOAD_ATTEMPTS) {
        const wait = backoffMs(attempt, err.retryAfterMs);
        state.textContent = `${BUSY_MESSAGE} Loading the products again ${inSeconds(wait)}…`;
        setTimeout(() => loadProducts(attempt + 1), wait);
        return;
      }
      state.textContent = `Could not load products: ${err.message}`;
      $("products-retry").hidden = false;
    } finally {
      list.setAttribute("aria-busy", "false");
    }
  }
  $("products-retry").addEventListener("click", () => loadProducts());

  function productItem(p) {
    const li = document.createElement("li");
    li.className = "product";
    li.dataset.productId = String(p.id);

    const title = document.createElement("h3");
    title.className = "product-title";
    title.textContent = String(p.title ?? `Product ${p.id}`);

    const price = document.createElement("p");
    price.className = "price";
    price.textContent = formatFen(p.price);

    const button = document.createElement("button");
    button.type = "button";
    button.className = "primary buy";
    button.dataset.testid = `buy-${p.id}`;
    button.textContent = "Buy";
    button.setAttribute("aria-label", `Buy ${title.textContent} for ${price.textContent}`);
    button.addEventListener("click", () => buy(p, button));

    li.append(title, price, button);
    return li;
  }

  function setBuyButtonsDisabled(disabled) {
    for (const b of document.querySelectorAll("#products button.buy")) b.disabled = disabled;
  }

  // ---------------------------------------------------------------- buying

  let buying = false;

  async function buy(product, button) {
    if (buying) return;
    buying = true;
    clearError();
    setBuyButtonsDisabled(true);
    const label = button.textContent;
    button.textContent = "Creating order…";
    // One key per click; every retry of this click reuses it, so the server returns the same order.
    const idempotencyKey = randomHex(16);
    try {
      let lastError = null;
      for (let attempt = 1; attempt <= BUY_ATTEMPTS; attempt += 1) {
        try {
          const { data } = await api("POST", `/api/wx-pay/native/${enc(product.id)}`, {
            headers: { "Idempotency-Key": idempotencyKey },
          });
          if (typeof data.orderNo !== "string" || !data.orderNo) {
            throw new ApiError("The server did not return an order number.");
          }
          const order = {
            orderNo: data.orderNo,
            codeUrl: typeof data.codeUrl === "string" ? data.codeUrl : "",
            qrSvg: typeof data.qrSvg === "string" ? data.qrSvg : "",
            expiresAt: typeof data.expiresAt === "string" ? data.expiresAt : "",
            title: String(data.title ?? product.title ?? ""),
            totalFee: Number.isSafeInteger(data.totalFee) ? data.totalFee : product.price,
          };
          saveCurrentOrder(order);
          showOrder(order);
          loadOrders();
          return;
        } catch (err) {
          lastError = err;
          if (!(err instanceof ApiError) || !err.transient || attempt === BUY_ATTEMPTS) break;
          if (err.throttled) {
            const wait = Math.min(BUY_WAIT_MAX_MS, backoffMs(attempt, err.retryAfterMs));
            button.textContent = `Busy, trying again ${inSeconds(wait)}…`;
            await sleep(wait);
            button.textContent = "Creating order…";
          } else {
            await sleep(800 * attempt);
          }
        }
      }
      showError(`Could not create the order: ${lastError ? lastError.message : "unknown error"}`);
    } finally {
      button.textContent = label;
      setBuyButtonsDisabled(false);
      buying = false;
    }
  }

  // ---------------------------------------------------------------- QR code

  const SVG_NS = "http://www.w3.org/2000/svg";
  const SVG_ALLOWED = new Set(["svg", "g", "path", "rect", "circle", "ellipse", "line", "polygon", "polyline",
    "title", "desc", "defs"]);

  /** Parses the server's SVG text and returns a clean <svg> element for this document, or null. */
  function safeSvg(text) {
    if (!text) return null;
    let root = null;
    const xml = new DOMParser().parseFromString(text, "image/svg+xml");
    if (!xml.querySelector("parsererror") && xml.documentElement
        && xml.documentElement.namespaceURI === SVG_NS && xml.documentElement.localName === "svg") {
      root = xml.documentElement;
    } else {
      // Not well-formed XML (e.g. no xmlns): let the HTML parser, which never runs scripts
      // in a DOMParser document, find the <svg> and put it in the SVG namespace.
      const html = new DOMParser().parseFromString(text, "text/html");
      const candidate = html.body.querySelector("svg");
      if (candidate && candidate.namespaceURI === SVG_NS) root = candidate;
    }
    if (!root) return null;
    const svg = document.importNode(root, true);
    sanitizeSvg(svg);
    if (!svg.getAttribute("viewBox")) {
      const w = parseFloat(svg.getAttribute("width"));
      const h = parseFloat(svg.getAttribute("height"));
      if (w > 0 && h > 0) svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    }
    svg.removeAttribute("width");
    svg.removeAttribute("height");
    return svg;
  }

  function sanitizeSvg(el) {
    for (const child of Array.from(el.children)) {
      if (child.namespaceURI !== SVG_NS || !SVG_ALLOWED.has(child.localName)) child.remove();
      else sanitizeSvg(child);
    }
    for (const attr of Array.from(el.attributes)) {
      const name = attr.name.toLowerCase();
      if (name.startsWith("on") || name === "style" || name.endsWith("href")) el.removeAttribute(attr.name);
    }
  }

  // ---------------------------------------------------------------- the current order

  // Status → banner. The English words "paid", "closed", "cancelled" are relied on by tests.
  const STATUS_VIEW = {
    NOTPAY: { cls: "pending", text: "Waiting for payment · 等待支付", terminal: false },
    SUCCESS: { cls: "paid", text: "✓ Order paid · 支付成功", terminal: true },
    CLOSED: { cls: "closed", text: "Order closed (expired) · 订单已关闭", terminal: true },
    CANCELLED: { cls: "cancelled", text: "Order cancelled · 订单已取消", terminal: true },
    REFUND_PROCESSING: { cls: "refund", text: "Order paid, refund in progress · 退款中", terminal: true },
    REFUNDED: { cls: "refund", text: "Order paid and refunded · 已退款", terminal: true },
    REFUND_ABNORMAL: { cls: "closed", text: "Order paid, refund failed · 退款异常", terminal: true },
    PARTIALLY_REFUNDED: { cls: "refund", text: "Order paid, partly refunded · 部分退款", terminal: true },
  };
  const EXPIRED_DETAIL = "The QR code has expired. Waiting for the order to close… 二维码已过期";
  const SHORT_STATUS = {
    NOTPAY: "waiting for payment · 待支付",
    SUCCESS: "paid · 已支付",
    CLOSED: "closed · 已关闭",
    CANCELLED: "cancelled · 已取消",
    REFUND_PROCESSING: "refund in progress · 退款中",
    REFUNDED: "refunded · 已退款",
    REFUND_ABNORMAL: "refund failed · 退款异常",
    PARTIALLY_REFUNDED: "partly refunded · 部分退款",
  };

  /** The order on screen; replaced (and its timers stopped) when another order is shown. */
  let current = null;

  function saveCurrentOrder(order) {
    try { sessionStorage.setItem(CURRENT_ORDER_KEY, JSON.stringify(order)); } catch { /* storage off */ }
  }
  function forgetCurrentOrder() {
    try { sessionStorage.removeItem(CURRENT_ORDER_KEY); } catch { /* storage off */ }
  }
  function restoreCurrentOrder() {
    let order = null;
    try { order = JSON.parse(sessionStorage.getItem(CURRENT_ORDER_KEY) || "null"); } catch { order = null; }
    if (order && typeof order.orderNo === "string" && order.orderNo) showOrder(order);
  }

  function showOrder(order) {
    if (current) stopOrder(current);
    const view = {
      order,
      status: "NOTPAY",
      terminal: false,
      expiresAtMs: Date.parse(order.expiresAt),
      shownAtMs: Date.now(),
      pollTimer: null,
      tickTimer: null,
      pollErrors: 0,
      throttled: 0, // 429s in a row
    };
    current = view;

    $("order").hidden = false;
    $("order-title").textContent = order.title || "—";
    $("amount").textContent = formatFen(order.totalFee);
    $("order-no").textContent = order.orderNo;
    $("code-url").textContent = order.codeUrl || "—";
    $("expires-at").textContent = Number.isNaN(view.expiresAtMs) ? "" : `(until ${formatTime(view.expiresAtMs)})`;

    const qr = $("qr");
    qr.dataset.codeUrl = order.codeUrl || "";
    qr.classList.remove("faded");
    delete qr.dataset.overlay;
    $("code-url-box").hidden = false;
    const svg = safeSvg(order.qrSvg);
    if (svg) {
      svg.setAttribute("role", "img");
      svg.setAttribute("aria-label", `QR code to pay order ${order.orderNo}`);
      svg.setAttribute("focusable", "false");
      qr.replaceChildren(svg);
    } else {
      const p = document.createElement("p");
      p.className = "qr-missing";
      p.textContent = "The QR code could not be shown. Use the payment link below.";
      qr.replaceChildren(p);
    }

    $("order-actions").hidden = false;
    const cancel = $("cancel");
    cancel.hidden = false;
    cancel.disabled = false;
    $("sim-link").hidden = !simulatorUrl;
    if (simulatorUrl) $("sim-link").href = simulatorUrl;

    setStatus(view, "NOTPAY", "");
    tick(view);
    view.tickTimer = setInterval(() => tick(view), 250);
    schedulePoll(view, 0);
    $("order").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  function stopOrder(view) {
    clearTimeout(view.pollTimer);
    clearInterval(view.tickTimer);
    view.pollTimer = null;
    view.tickTimer = null;
  }

  /** "¥x.xx of ¥y.yy refunded" for an order with refunds, else "". */
  function refundDetail(order) {
    const refunded = Number(order && order.refundedFee);
    if (!Number.isSafeInteger(refunded) || refunded <= 0) return "";
    return `${formatFen(refunded)} of ${formatFen(order.totalFee)} refunded · 已退款`;
  }

  function setStatus(view, status, detail) {
    if (view !== current) return;
    view.status = status;
    const info = STATUS_VIEW[status] || { cls: "unknown", text: `Order status: ${status}`, terminal: true };
    const el = $("status");
    if (el.dataset.status !== status) {
      el.textContent = info.text;
      el.dataset.status = status;
      el.className = `status status-${info.cls}`;
    }
    $("status-detail").textContent = detail || "";
    if (info.terminal && !view.terminal) {
      view.terminal = true;
      stopOrder(view);
      $("order-actions").hidden = true;
      $("code-url-box").hidden = true;
      $("countdown").textContent = "—";
      $("countdown").classList.remove("urgent");
      $("expires-at").textContent = "";
      fadeQr(status === "SUCCESS" ? "✓ Paid" : "No longer valid");
      forgetCurrentOrder();
      loadOrders();
    }
  }

  /** Keeps the QR code on screen, too faint to scan, under a label saying why. */
  function fadeQr(label) {
    const qr = $("qr");
    qr.classList.add("faded");
    qr.dataset.overlay = label;
  }

  function tick(view) {
    if (view !== current || view.terminal) return;
    const el = $("countdown");
    if (Number.isNaN(view.expiresAtMs)) {
      el.textContent = "—";
      return;
    }
    const left = Math.max(0, view.expiresAtMs - serverNow());
    const total = Math.ceil(left / 1000);
    const m = Math.floor(total / 60);
    const s = total % 60;
    el.textContent = `${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
    el.classList.toggle("urgent", total <= 30);
    if (left === 0 && view.status === "NOTPAY") {
      $("cancel").hidden = true;
      fadeQr("Expired");
      $("status-detail").textContent = EXPIRED_DETAIL;
    }
  }

  function schedulePoll(view, delay) {
    if (view !== current || view.terminal) return;
    clearTimeout(view.pollTimer);
    view.pollTimer = setTimeout(() => poll(view), delay);
  }

  async function poll(view) {
    if (view !== current || view.terminal) return;
    const expired = !Number.isNaN(view.expiresAtMs) && serverNow() >= view.expiresAtMs;
    if (expired && serverNow() > view.expiresAtMs + AFTER_EXPIRY_GRACE_MS) {
      stopOrder(view);
      forgetCurrentOrder();
      $("status-detail").textContent =
        "The QR code expired and the final status has not arrived yet. See “My orders” later.";
      return;
    }
    try {
      const env = await api("GET", `/api/order-info/query-order-status/${enc(view.order.orderNo)}`,
        { allowNonZero: true });
      if (view !== current) return;
      let status = typeof env.data.orderStatus === "string" ? env.data.orderStatus : "";
      if (!status && env.code === 0) status = "SUCCESS";
      if (!status && env.code === 101) status = "NOTPAY";
      if (status) {
        view.pollErrors = 0;
        setStatus(view, status, status === "NOTPAY" && expired ? EXPIRED_DETAIL : refundDetail(env.data));
      } else {
        // A non-zero code without a status, e.g. 404: say so, keep trying a while.
        view.pollErrors += 1;
        $("status-detail").textContent = `Status check: ${env.message}`;
      }
      view.throttled = 0;
    } catch (err) {
      if (view !== current) return;
      if (err instanceof ApiError && err.throttled) {
        view.throttled += 1;
        const wait = backoffMs(view.throttled, err.retryAfterMs);
        $("status-detail").textContent = `Many shoppers are checking right now; we will look again ${inSeconds(wait)}. `
          + "A payment made meanwhile is not lost: it shows here once we look.";
        schedulePoll(view, wait);
        return;
      }
      view.pollErrors += 1;
      $("status-detail").textContent = `Status check failed: ${err.message} Retrying…`;
    }
    const base = expired ? AFTER_EXPIRY_POLL_MS : pollIntervalMs(Date.now() - view.shownAtMs);
    schedulePoll(view, view.pollErrors > 3 ? Math.max(base, Math.min(base * 4, 10000)) : base);
  }

  $("cancel").addEventListener("click", async () => {
    const view = current;
    if (!view || view.terminal) return;
    const button = $("cancel");
    button.disabled = true;
    clearError();
    $("status-detail").textContent = "Cancelling…";
    try {
      const env = await api("POST", `/api/wx-pay/cancel/${enc(view.order.orderNo)}`);
      const status = typeof env.data.orderStatus === "string" ? env.data.orderStatus : "CANCELLED";
      setStatus(view, status, "");
    } catch (err) {
      if (view !== current) return;
      $("status-detail").textContent = "";
      showError(`Could not cancel the order: ${err.message}`);
      button.disabled = false;
      // The order may have changed meanwhile (e.g. paid): look now.
      schedulePoll(view, 0);
    }
  });

  // ---------------------------------------------------------------- my orders

  let ordersRequest = 0;
  let nextCursor = null;

  async function loadOrders({ append = false, attempt = 1 } = {}) {
    const seq = ++ordersRequest;
    const list = $("orders");
    const state = $("orders-state");
    const more = $("orders-more");
    more.disabled = true;
    list.setAttribute("aria-busy", "true");
    if (!append) state.textContent = list.children.length ? "Refreshing…" : "Loading your orders…";
    state.hidden = false;
    try {
      const query = append && nextCursor ? `?cursor=${enc(nextCursor)}` : "";
      const { data } = await api("GET", `/api/order-info/list${query}`);
      if (seq !== ordersRequest) return;
      const items = Array.isArray(data.list) ? data.list : [];
      if (!append) list.replaceChildren();
      for (const o of items) if (o && typeof o.orderNo === "string") list.append(orderItem(o));
      nextCursor = typeof data.nextCursor === "string" && data.nextCursor ? data.nextCursor : null;
      more.hidden = !nextCursor;
      state.textContent = list.children.length ? "" : "No orders yet.";
      state.hidden = list.children.length > 0;
    } catch (err) {
      if (seq !== ordersRequest) return;
      if (err instanceof ApiError && err.throttled && attempt < LOAD_ATTEMPTS) {
        const wait = backoffMs(attempt, err.retryAfterMs);
        state.textContent = `${BUSY_MESSAGE} Loading your orders again ${inSeconds(wait)}…`;
        setTimeout(() => {
          if (seq === ordersRequest) loadOrders({ append, attempt: attempt + 1 });
        }, wait);
        return;
      }
      state.textContent = `Could not load your orders: ${err.message}`;
    } finally {
      if (seq === ordersRequest) {
        more.disabled = false;
        list.setAttribute("aria-busy", "false");
      }
    }
  }
  $("orders-refresh").addEventListener("click", () => loadOrders());
  $("orders-more").addEventListener("click", () => loadOrders({ append: true }));

  function orderItem(o) {
    const status = typeof o.orderStatus === "string" ? o.orderStatus : "UNKNOWN";
    const li = document.createElement("li");
    li.className = "order-row";
    li.dataset.orderNo = o.orderNo;
    li.dataset.status = status;

    const main = document.createElement("div");
    main.className = "order-main";
    const title = document.createElement("span");
    title.className = "order-row-title";
    title.textContent = String(o.title ?? "");
    const no = document.createElement("code");
    no.className = "order-row-no";
    no.textContent = o.orderNo;
    main.append(title, no);

    const meta = document.createElement("div");
    meta.className = "order-meta";
    const amount = document.createElement("span");
    amount.className = "order-row-amount";
    amount.textContent = formatFen(o.totalFee);
    const badge = document.createElement("span");
    badge.className = `badge badge-${(STATUS_VIEW[status] || { cls: "unknown" }).cls}`;
    badge.textContent = SHORT_STATUS[status] || status;
    const time = document.createElement("time");
    time.className = "order-row-time muted small";
    if (o.createdAt) time.dateTime = String(o.createdAt);
    time.textContent = o.createdAt ? formatDateTime(o.createdAt) : "";
    meta.append(amount, badge);
    const refunded = refundDetail(o);
    if (refunded) {
      const note = document.createElement("span");
      note.className = "order-row-refund muted small";
      note.textContent = refunded;
      meta.append(note);
    }
    meta.append(time);

    li.append(main, meta);
    return li;
  }

  // ---------------------------------------------------------------- start

  loadProducts();
  loadOrders();
  restoreCurrentOrder();
})();
