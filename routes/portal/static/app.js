// The LeadLex webhook portal. Plain JavaScript, no dependencies: it reads the
// key from the link's fragment (never sent to a server), forgets the
// fragment, and talks only to the public API under the same base path.
// Every piece of API data reaches the page through textContent (the h()
// helper), never as HTML.

const apiBase = location.pathname.replace(/\/portal\/.*$/, "");
const storeKey = "leadlex-portal-key";

const state = {
  key: "",
  mode: "read_only",
  expiresAt: null,
  catalog: null,
};

// ---- small DOM helpers ----------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const main = () => document.getElementById("main");
const canWrite = () => state.mode === "read_write";

function show(title, ...content) {
  const m = main();
  const heading = h("h2", { tabindex: "-1", id: "view-title" }, title);
  m.replaceChildren(heading, ...content.flat().filter((c) => c !== null && c !== undefined && c !== false));
  heading.focus();
  document.title = title + " · LeadLex webhooks portal";
}

function when(ts) {
  if (!ts) return "—";
  const d = new Date(ts);
  return h("time", { datetime: ts, title: ts }, d.toLocaleString());
}

function notice(message, kind) {
  const n = document.getElementById("notice");
  n.className = kind || "";
  if (typeof message === "string") n.textContent = message;
  else n.replaceChildren(message);
}

function clearNotice() {
  notice("");
}

// ---- the API ----------------------------------------------------------------

class APIError extends Error {
  constructor(status, body, headers) {
    const e = (body && body.error) || {};
    super(e.message || `The API answered ${status}.`);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.details = e.details || {};
    this.requestID = e.request_id || headers.get("X-Request-ID") || "";
    this.retryAfter = headers.get("Retry-After");
  }
}

async function api(method, path, body) {
  const init = { method, headers: { Authorization: "Bearer " + state.key }, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(apiBase + path, init);
  } catch (err) {
    throw new APIError(0, { error: { code: "network_error", message: "The API could not be reached: " + err.message } }, new Headers());
  }
  let data = null;
  const text = await resp.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!resp.ok) {
    const err = new APIError(resp.status, data, resp.headers);
    if (err.code === "invalid_key") {
      linkGone(err);
    }
    throw err;
  }
  return data;
}

// report shows an API error as a person can read it: the message, the code,
// the request ID to quote to support and, when rate limited, when to retry.
function report(err) {
  if (!(err instanceof APIError)) {
    notice("Something went wrong in the page: " + err.message);
    return;
  }
  if (err.code === "invalid_key") return; // the whole page says it
  const parts = [h("strong", {}, err.message)];
  if (err.code === "rate_limited") {
    const s = parseInt(err.retryAfter || "", 10);
    parts.push(" ", h("span", { class: "retry" }, Number.isFinite(s) ? `Too many requests: try again in ${s} second${s === 1 ? "" : "s"}.` : "Too many requests: try again shortly."));
  }
  if (err.details && err.details.field) parts.push(" ", h("span", {}, `(field: ${err.details.field})`));
  parts.push(h("br"), h("span", { class: "rid" }, `Error ${err.code}` + (err.requestID ? ` · request ID ${err.requestID}` : "")));
  notice(h("div", { class: "api-error" }, parts));
}

async function run(fn) {
  clearNotice();
  try {
    await fn();
  } catch (err) {
    report(err);
  }
}

// ---- the link and the session ---------------------------------------------

function readKey() {
  const m = /(?:^#|&)k=(wbk_[a-z0-9]+)/.exec(location.hash);
  if (m) {
    try { sessionStorage.setItem(storeKey, m[1]); } catch { /* private mode: keep it in memory */ }
    // The key leaves the address bar, so it is not shared by copying the URL.
    history.replaceState(null, "", location.pathname + location.search);
    return m[1];
  }
  try { return sessionStorage.getItem(storeKey) || ""; } catch { return ""; }
}

function linkGone(err) {
  try { sessionStorage.removeItem(storeKey); } catch { /* nothing kept */ }
  state.key = "";
  document.getElementById("nav").hidden = true;
  document.getElementById("session").textContent = "";
  clearNotice();
  const reason = err && err.details && err.details.reason;
  const why = reason === "expired" ? "This portal link has expired."
    : reason === "revoked" ? "This portal link was revoked."
    : reason === "missing" ? "This page needs a portal link."
    : "This portal link is not valid.";
  const m = main();
  m.replaceChildren(h("section", { class: "gone card", id: "link-gone", "aria-labelledby": "gone-title" },
    h("h2", { id: "gone-title", tabindex: "-1" }, why),
    h("p", {}, "Portal links are short-lived and can be revoked. Ask the team that manages your LeadLex integration for a new link, or create one with POST /v1/portal-sessions."),
    err && err.requestID ? h("p", { class: "rid" }, "Request ID " + err.requestID) : null));
  document.getElementById("gone-title").focus();
  document.title = why + " · LeadLex webhooks portal";
}

async function start() {
  state.key = readKey();
  if (!state.key) {
    linkGone({ details: { reason: "missing" } });
    return;
  }
  try {
    const r = await api("GET", "/v1/portal-sessions/current");
    state.mode = r.data.portal_session.mode;
    state.expiresAt = r.data.portal_session.expires_at;
  } catch (err) {
    if (err.code !== "invalid_key") report(err);
    return;
  }
  document.body.dataset.mode = state.mode;
  const nav = document.getElementById("nav");
  nav.hidden = false;
  for (const b of nav.querySelectorAll("button")) {
    b.addEventListener("click", () => go(b.dataset.nav));
  }
  document.getElementById("session").replaceChildren(
    h("span", { class: "badge", id: "mode" }, canWrite() ? "Read & write" : "Read-only"),
    " ",
    state.expiresAt ? h("span", {}, "link expires ", when(state.expiresAt)) : "");
  go("webhooks");
}

function go(view, ...args) {
  for (const b of document.querySelectorAll("#nav button")) {
    if (b.dataset.nav === view) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  const views = { webhooks: webhooksView, catalog: catalogView, verify: verifyView };
  run(() => views[view](...args));
}

// ---- webhooks ----------------------------------------------------------------

function statusOf(w) {
  if (w.active) return { label: "Active", cls: "status-active" };
  if (w.disabled_reason) return { label: "Auto-disabled", cls: "status-auto-disabled", reason: w.disabled_reason };
  return { label: "Paused", cls: "status-paused" };
}

async function webhooksView(page = 1) {
  const r = await api("GET", `/v1/webhooks?page=${page}&per_page=20`);
  const hooks = r.data.webhooks;
  const meta = r.meta;
  const rows = hooks.map((w) => {
    const st = statusOf(w);
    return h("tr", { "data-webhook": w.id },
      h("td", { class: "url" }, h("code", {}, w.url), w.description ? h("div", { class: "hint" }, w.description) : null),
      h("td", { class: "optional" }, w.events.join(", ")),
      h("td", {}, h("span", { class: "badge " + st.cls }, st.label), st.reason ? h("div", { class: "hint reason" }, st.reason) : null),
      h("td", { class: "optional" }, w.last_delivery_status ? h("span", { class: "status-" + w.last_delivery_status }, w.last_delivery_status) : "none yet", w.last_delivery_at ? h("div", { class: "hint" }, when(w.last_delivery_at)) : null),
      h("td", {}, h("div", { class: "toolbar" },
        h("button", { type: "button", class: "logs", onclick: () => run(() => logsView(w)), "aria-label": `Delivery logs of ${w.url}` }, "Logs"),
        canWrite() ? [
          h("button", { type: "button", class: "edit", onclick: () => run(() => editView(w)), "aria-label": `Edit ${w.url}` }, "Edit"),
          h("button", { type: "button", class: "rotate", onclick: () => run(() => rotateView(w)), "aria-label": `Rotate the secret of ${w.url}` }, "Rotate secret"),
          h("button", { type: "button", class: "delete", onclick: () => confirmDelete(w), "aria-label": `Delete ${w.url}` }, "Delete"),
        ] : null)));
  });
  const pages = Math.max(1, Math.ceil(meta.total / meta.per_page));
  show("Webhooks",
    h("div", { class: "toolbar" },
      h("p", { class: "grow hint" }, `${meta.total} webhook${meta.total === 1 ? "" : "s"} in this workspace.`),
      canWrite() ? h("button", { type: "button", class: "primary", id: "new-webhook", onclick: () => run(createView) }, "New webhook") : null),
    hooks.length === 0 ? h("p", { class: "card", id: "no-webhooks" }, "No webhooks yet.") :
      h("div", { class: "table-wrap" }, h("table", { id: "webhooks" },
        h("caption", { class: "hint" }, `Page ${meta.page} of ${pages}`),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Endpoint"), h("th", { scope: "col", class: "optional" }, "Events"), h("th", { scope: "col" }, "Status"), h("th", { scope: "col", class: "optional" }, "Last delivery"), h("th", { scope: "col" }, "Actions"))),
        h("tbody", {}, rows))),
    pager(meta, (p) => run(() => webhooksView(p))));
}

function pager(meta, goTo) {
  const pages = Math.max(1, Math.ceil(meta.total / meta.per_page));
  if (pages <= 1) return null;
  return h("nav", { class: "toolbar pager", "aria-label": "Pages" },
    h("button", { type: "button", class: "prev", disabled: meta.page <= 1, onclick: () => goTo(meta.page - 1) }, "Previous page"),
    h("span", {}, `Page ${meta.page} of ${pages}`),
    h("button", { type: "button", class: "next", disabled: meta.page >= pages, onclick: () => goTo(meta.page + 1) }, "Next page"));
}

async function loadCatalog() {
  if (!state.catalog) {
    const r = await api("GET", "/v1/events/catalog");
    state.catalog = r.data.events;
  }
  return state.catalog;
}

// webhookForm is the create and edit form; submit gets the body.
async function webhookForm(w, submitLabel, submit) {
  const events = await loadCatalog();
  const chosen = new Set(w ? w.events : []);
  const form = h("form", { class: "card", id: "webhook-form", novalidate: true },
    h("label", { for: "f-url" }, "Endpoint URL"),
    h("input", { id: "f-url", name: "url", type: "url", required: true, value: w ? w.url : "", placeholder: "https://example.com/webhooks/leadlex", "aria-describedby": "f-url-hint" }),
    h("p", { class: "hint", id: "f-url-hint" }, "An https:// URL on the public internet."),
    h("fieldset", { class: "events" }, h("legend", {}, "Events to send"),
      events.map((e) => h("label", {}, h("input", { type: "checkbox", name: "events", value: e.type, checked: chosen.has(e.type) }), h("code", {}, e.type), h("span", { class: "hint" }, e.description)))),
    h("label", { for: "f-description" }, "Description (optional)"),
    h("input", { id: "f-description", name: "description", type: "text", maxlength: "200", value: w ? w.description : "" }),
    h("label", { class: "check" }, h("input", { id: "f-active", name: "active", type: "checkbox", checked: w ? w.active : true }), "Active (deliver events)"),
    h("div", { class: "toolbar" },
      h("button", { type: "submit", class: "primary" }, submitLabel),
      h("button", { type: "button", onclick: () => go("webhooks") }, "Cancel")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const body = {
      url: form.querySelector("#f-url").value.trim(),
      events: [...form.querySelectorAll("input[name=events]:checked")].map((i) => i.value),
      description: form.querySelector("#f-description").value,
      active: form.querySelector("#f-active").checked,
    };
    run(() => submit(body));
  });
  return form;
}

async function createView() {
  show("New webhook", await webhookForm(null, "Create webhook", async (body) => {
    const r = await api("POST", "/v1/webhooks", body);
    secretView("Webhook created", r.data.webhook, r.data.webhook.secret,
      "This is the webhook's signing secret. It is shown only now: copy it into your receiver's configuration before you leave this page.");
  }));
}

async function editView(w) {
  show("Edit webhook", await webhookForm(w, "Save changes", async (body) => {
    await api("PATCH", `/v1/webhooks/${w.id}`, body);
    notice("Webhook saved.", "info");
    await webhooksView();
  }));
}

function secretView(title, w, secret, warning) {
  const code = h("code", { id: "secret" }, secret);
  const status = h("span", { role: "status", class: "hint", id: "copy-status" });
  show(title,
    h("section", { class: "card secret", "aria-labelledby": "secret-title" },
      h("h3", { id: "secret-title" }, "Signing secret"),
      h("p", {}, h("strong", {}, "Shown once. "), warning),
      code,
      h("div", { class: "toolbar" },
        h("button", { type: "button", class: "primary", id: "copy-secret", onclick: async () => {
          try {
            await navigator.clipboard.writeText(secret);
            status.textContent = "Copied to the clipboard.";
          } catch {
            const range = document.createRange();
            range.selectNodeContents(code);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
            status.textContent = "Selected: press Ctrl+C (⌘C) to copy.";
          }
        } }, "Copy secret"), status)),
    h("p", {}, "Endpoint ", h("code", {}, w.url)),
    h("div", { class: "toolbar" },
      h("button", { type: "button", id: "secret-done", onclick: () => go("webhooks") }, "I have saved it: back to webhooks")));
}

async function rotateView(w) {
  const form = h("form", { class: "card", id: "rotate-form" },
    h("p", {}, "A new secret replaces the current one. During the overlap both sign deliveries, so receivers can switch without dropping any."),
    h("label", { for: "f-overlap" }, "Keep the current secret valid for"),
    h("select", { id: "f-overlap" },
      h("option", { value: "0" }, "No overlap: end it now (leaked secret)"),
      h("option", { value: "3600" }, "1 hour"),
      h("option", { value: "86400", selected: true }, "24 hours (default)"),
      h("option", { value: "604800" }, "7 days")),
    h("div", { class: "toolbar" },
      h("button", { type: "submit", class: "primary" }, "Rotate secret"),
      h("button", { type: "button", onclick: () => go("webhooks") }, "Cancel")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const overlap = parseInt(form.querySelector("#f-overlap").value, 10);
    run(async () => {
      const r = await api("POST", `/v1/webhooks/${w.id}/rotate-secret`, { expire_previous_in_seconds: overlap });
      const until = r.data.webhook.previous_secret_expires_at;
      secretView("Secret rotated", r.data.webhook, r.data.webhook.secret,
        until ? `The previous secret keeps working until ${new Date(until).toLocaleString()}.` : "The previous secret no longer works.");
    });
  });
  show("Rotate the secret of " + w.url, form);
}

function confirmDelete(w) {
  const dialog = h("dialog", { id: "confirm-delete", "aria-labelledby": "confirm-title" },
    h("h3", { id: "confirm-title" }, "Delete this webhook?"),
    h("p", {}, h("code", {}, w.url)),
    h("p", {}, "Its pending deliveries stop and its logs go with it. This cannot be undone."),
    h("form", { method: "dialog", class: "toolbar" },
      h("button", { value: "cancel", id: "cancel-delete", autofocus: true }, "Cancel"),
      h("button", { value: "delete", class: "danger", id: "confirm-delete-button" }, "Delete webhook")));
  dialog.addEventListener("close", () => {
    const answer = dialog.returnValue;
    dialog.remove();
    if (answer !== "delete") return;
    run(async () => {
      await api("DELETE", `/v1/webhooks/${w.id}`);
      notice("Webhook deleted.", "info");
      await webhooksView();
    });
  });
  document.body.append(dialog);
  dialog.showModal();
}

// ---- delivery logs -----------------------------------------------------------

async function logsView(w, status = "", page = 1) {
  const q = new URLSearchParams({ page: String(page), per_page: "20" });
  if (status) q.set("status", status);
  const r = await api("GET", `/v1/webhooks/${w.id}/logs?${q}`);
  const filter = h("select", { id: "f-status", onchange: () => run(() => logsView(w, filter.value, 1)) },
    ["", "success", "failed", "pending"].map((s) => h("option", { value: s, selected: s === status }, s || "all")));
  const rows = r.data.logs.map((e) => h("tr", { class: "log-entry", "data-delivery": e.delivery_id },
    h("td", {}, h("button", { type: "button", class: "open-delivery", onclick: () => run(() => deliveryView(w, e.delivery_id)), "aria-label": `Delivery ${e.delivery_id}, attempt ${e.attempt}` }, e.delivery_id.slice(0, 8) + "…")),
    h("td", { class: "optional" }, e.event),
    h("td", {}, h("span", { class: "badge status-" + e.status }, e.status)),
    h("td", {}, String(e.attempt)),
    h("td", {}, e.response_status_code === null ? "—" : String(e.response_status_code)),
    h("td", { class: "optional" }, e.error || "—"),
    h("td", { class: "optional" }, e.duration_ms === null ? "—" : `${e.duration_ms} ms`),
    h("td", {}, e.delivered_at ? when(e.delivered_at) : h("span", {}, "next attempt ", when(e.next_attempt_at))),
    h("td", { class: "optional" }, e.response_body ? h("details", {}, h("summary", {}, "Response body"), h("pre", {}, e.response_body)) : "—")));
  show("Delivery logs",
    h("p", {}, "Endpoint ", h("code", {}, w.url)),
    h("div", { class: "toolbar" },
      h("label", { for: "f-status", class: "check" }, "Status"), filter,
      h("button", { type: "button", id: "refresh-logs", onclick: () => run(() => logsView(w, status, page)) }, "Refresh"),
      canWrite() ? h("button", { type: "button", id: "send-test", onclick: () => run(async () => {
        const t = await api("POST", `/v1/webhooks/${w.id}/test`);
        notice(`Test event sent: ${t.data.log_entry.status}` + (t.data.log_entry.response_status_code ? ` (HTTP ${t.data.log_entry.response_status_code})` : ""), "info");
        await logsView(w, status, 1);
      }) }, "Send test event") : null,
      h("button", { type: "button", onclick: () => go("webhooks") }, "Back to webhooks")),
    r.data.logs.length === 0 ? h("p", { class: "card", id: "no-logs" }, "No deliveries yet.") :
      h("div", { class: "table-wrap" }, h("table", { id: "logs" },
        h("caption", { class: "hint" }, `${r.meta.total} entr${r.meta.total === 1 ? "y" : "ies"}, newest first`),
        h("thead", {}, h("tr", {}, ["Delivery", "Event", "Status", "Attempt", "HTTP", "Error", "Duration", "When", "Response"].map((t, i) =>
          h("th", { scope: "col", class: [1, 5, 6, 8].includes(i) ? "optional" : null }, t)))),
        h("tbody", {}, rows))),
    pager(r.meta, (p) => run(() => logsView(w, status, p))));
}

async function deliveryView(w, deliveryID) {
  const r = await api("GET", `/v1/webhooks/${w.id}/logs/${deliveryID}`);
  const d = r.data.delivery;
  const payload = d.payload; // the exact bytes sent, which the signatures cover
  const attempts = d.log.map((a) => h("section", { class: "card attempt", "aria-label": `Attempt ${a.attempt}` },
    h("h4", {}, `Attempt ${a.attempt} · `, h("span", { class: "status-" + a.status }, a.status)),
    h("dl", { class: "facts" },
      h("dt", {}, "HTTP status"), h("dd", { class: "attempt-status" }, a.response_status_code === null ? "no answer" : String(a.response_status_code)),
      h("dt", {}, "Error class"), h("dd", {}, a.error || "none"),
      h("dt", {}, "Duration"), h("dd", {}, a.duration_ms === null ? "—" : `${a.duration_ms} ms`),
      h("dt", {}, "Delivered"), h("dd", {}, when(a.delivered_at))),
    h("h5", {}, "Response body (first 2 KB)"), h("pre", { class: "response-body" }, a.response_body || "(empty)")));
  show("Delivery " + d.id,
    h("div", { class: "toolbar" },
      canWrite() ? h("button", { type: "button", class: "primary", id: "retry-delivery", onclick: () => run(async () => {
        const rr = await api("POST", `/v1/webhooks/${w.id}/logs/${d.id}/retry`);
        notice(`Retry scheduled: the delivery is ${rr.data.delivery.status}.`, "info");
        await deliveryView(w, d.id);
      }) }, "Retry delivery") : null,
      h("button", { type: "button", id: "refresh-delivery", onclick: () => run(() => deliveryView(w, d.id)) }, "Refresh"),
      h("button", { type: "button", id: "back-to-logs", onclick: () => run(() => logsView(w)) }, "Back to logs")),
    h("section", { class: "card" },
      h("dl", { class: "facts" },
        h("dt", {}, "Event"), h("dd", {}, d.event + (d.test ? " (test)" : "")),
        h("dt", {}, "Status"), h("dd", { id: "delivery-status" }, h("span", { class: "badge status-" + d.status }, d.status)),
        h("dt", {}, "Attempts"), h("dd", {}, String(d.attempts)),
        h("dt", {}, "Next attempt"), h("dd", {}, when(d.next_attempt_at)),
        h("dt", {}, "Created"), h("dd", {}, when(d.created_at)))),
    h("h3", {}, "Payload sent"),
    h("p", { class: "hint" }, "The exact request body of every attempt; both signatures cover these bytes."),
    h("pre", { id: "payload" }, pretty(d.payload)),
    h("h3", {}, "Headers of the latest attempt"),
    h("pre", { id: "headers" }, headerExample(d, w)),
    verifyTool(d, payload),
    h("h3", {}, "Attempts"),
    attempts.length ? attempts : h("p", { class: "hint" }, "No attempt has been made yet."));
}

// pretty indents a JSON text for reading; the bytes sent stay d.payload.
function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch { return text; }
}

function headerExample(d, w) {
  const last = d.log.length ? new Date(d.log[d.log.length - 1].delivered_at) : new Date();
  const ts = Math.floor(last.getTime() / 1000);
  return [
    `POST ${w.url}`,
    "Content-Type: application/json",
    "User-Agent: LeadLex-Webhook/1.0",
    `X-LeadLex-Delivery-ID: ${d.id}`,
    `X-LeadLex-Timestamp: ${last.toISOString().replace(/\.\d{3}Z$/, "Z")}`,
    "X-LeadLex-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the secret>",
    `webhook-id: ${d.id}`,
    `webhook-timestamp: ${ts}`,
    "webhook-signature: v1,<base64 HMAC-SHA256 of \"webhook-id.webhook-timestamp.body\">",
  ].join("\n");
}

// verifyTool computes both signatures of this payload in the browser, with a
// secret the user pastes; the secret never leaves the page.
function verifyTool(d, body) {
  const out = h("pre", { id: "computed-signatures", "aria-live": "polite" }, "");
  const form = h("form", { class: "card", id: "verify-form" },
    h("h3", {}, "Check your receiver's computation"),
    h("label", { for: "f-secret" }, "Signing secret (stays in this page)"),
    h("input", { id: "f-secret", type: "password", autocomplete: "off", placeholder: "whsec_…" }),
    h("label", { for: "f-ts" }, "webhook-timestamp (Unix seconds)"),
    h("input", { id: "f-ts", type: "text", inputmode: "numeric", value: String(Math.floor(Date.now() / 1000)) }),
    h("div", { class: "toolbar" }, h("button", { type: "submit" }, "Compute signatures")), out);
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    run(async () => {
      const secret = form.querySelector("#f-secret").value.trim();
      const ts = form.querySelector("#f-ts").value.trim();
      out.textContent = (await signatures(d.id, ts, body, secret)).join("\n");
    });
  });
  return form;
}

async function hmac(keyBytes, message) {
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
}

async function signatures(id, ts, body, secret) {
  const enc = new TextEncoder();
  const hex = [...await hmac(enc.encode(secret), body)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const lines = [`X-LeadLex-Signature: sha256=${hex}`];
  try {
    const raw = atob(secret.replace(/^whsec_/, ""));
    const std = await hmac(Uint8Array.from(raw, (c) => c.charCodeAt(0)), `${id}.${ts}.${body}`);
    lines.push(`webhook-signature: v1,${btoa(String.fromCharCode(...std))}`);
  } catch {
    lines.push("webhook-signature: (the secret is not a whsec_ secret)");
  }
  return lines;
}

// ---- catalog and signatures ----------------------------------------------------

async function catalogView() {
  const events = await loadCatalog();
  show("Event catalog",
    h("p", { class: "hint" }, `${events.length} event types. Each delivery's body is {id, type, created_at, workspace_id, data}; the schema below describes data.`),
    events.map((e) => h("section", { class: "card event", id: "event-" + e.type.replace(/\W/g, "-") },
      h("h3", {}, h("code", {}, e.type), " ", h("span", { class: "badge" }, e.stability)),
      h("p", {}, e.description),
      h("details", {}, h("summary", {}, "JSON Schema of data"), h("pre", {}, JSON.stringify(e.data_schema, null, 2))),
      h("details", {}, h("summary", {}, "Example payload"), h("pre", {}, JSON.stringify(e.example_payload, null, 2))))));
}

function verifyView() {
  show("Verifying signatures",
    h("section", { class: "card" },
      h("p", {}, "Every delivery is a POST with a JSON body and two signatures, so any receiver can check that it came from LeadLex and was not changed:"),
      h("ul", {},
        h("li", {}, h("code", {}, "X-LeadLex-Signature: sha256=<hex>"), ": HMAC-SHA256 of the raw body, keyed with the secret exactly as issued (whsec_… included); during a rotation, one entry per secret, separated by commas. X-LeadLex-Timestamp is the RFC 3339 time of sending."),
        h("li", {}, h("code", {}, "webhook-signature: v1,<base64>"), " (Standard Webhooks): HMAC-SHA256 of \"webhook-id.webhook-timestamp.body\", keyed with the base64 decoding of the part after whsec_."),
        h("li", {}, "Refuse timestamps more than 5 minutes old, and de-duplicate on X-LeadLex-Delivery-ID (the same on every retry)."),
        h("li", {}, "After a secret rotation, both the new and the previous secret sign until the overlap ends: accept either.")),
      h("p", {}, "Open a delivery in a webhook's logs to see its own headers and payload, and to compute the signatures with your secret, in this page."),
      h("h3", {}, "Node.js"),
      h("pre", {}, [
        "import { createHmac, timingSafeEqual } from \"node:crypto\";",
        "",
        "function verify(rawBody, headers, secret) {",
        "  const ts = Date.parse(headers[\"x-leadlex-timestamp\"]); // RFC 3339",
        "  if (!ts || Math.abs(Date.now() - ts) > 5 * 60 * 1000) return false;",
        "  const want = \"sha256=\" + createHmac(\"sha256\", secret).update(rawBody).digest(\"hex\");",
        "  const got = String(headers[\"x-leadlex-signature\"] || \"\").split(\",\").map((s) => s.trim());",
        "  return got.some((g) => g.length === want.length && timingSafeEqual(Buffer.from(g), Buffer.from(want)));",
        "}",
      ].join("\n")),
      h("h3", {}, "Go"),
      h("pre", {}, [
        "import \"github.com/leadlex/api-gateway/gateway/signature\"",
        "",
        "err := signature.Verify(r.Header, body, secret, 5*time.Minute, time.Now())",
      ].join("\n"))));
}

// A new link opened in the same tab changes only the fragment: start over
// with its key.
window.addEventListener("hashchange", () => {
  if (/(?:^#|&)k=wbk_/.test(location.hash)) location.reload();
});

start();
