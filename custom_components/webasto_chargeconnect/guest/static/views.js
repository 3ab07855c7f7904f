// What the page shows, built from the /api/me answer. Pure builders: they take the strings
// (i18n.js), the data and callbacks, and return elements; app.js decides when to call them.

import { h } from "./dom.js";

const ERROR_SCREENS = ["invalid_link", "expired", "revoked", "removed", "ended", "rate_limited"];

export function isScreenError(code) {
  return ERROR_SCREENS.includes(code);
}

// The sentence for an API error: ours for the codes we know, else the server's, else generic.
export function errorText(s, error) {
  if (error.code === "rate_limited") {
    return s.t("err_rate_limited", { time: s.duration(Math.max(1, error.retryAfter || 60)) });
  }
  const key = `err_${error.code}`;
  if (s.has(key)) return s.t(key);
  return error.serverMessage || s.t("err_unknown");
}

// A decorative picture from this folder (img-src 'self').
function icon(name) {
  const src = new URL(`${name}.svg`, import.meta.url).href;
  return h("img", { class: "screen-icon", src, alt: "", width: 56, height: 56 });
}

export function loadingView(s) {
  return h("p", { class: "muted", id: "loading" }, s.t("loading"));
}

export function errorView(s, error, onRetry) {
  const code = error.code;
  const title = s.has(`err_${code}_title`) ? s.t(`err_${code}_title`) : s.t("err_unknown");
  return h(
    "section",
    { class: "screen", "data-screen": `error-${code}`, "aria-labelledby": "screen-title" },
    icon(code === "rate_limited" ? "clock" : "lock"),
    h("h2", { id: "screen-title" }, title),
    h("p", { class: "lead" }, errorText(s, error)),
    onRetry && h("button", { type: "button", class: "button", onclick: onRetry }, s.t("retry")),
  );
}

export function messageView(s, titleKey, textKey, screen) {
  return h(
    "section",
    { class: "screen", "data-screen": screen, "aria-labelledby": "screen-title" },
    icon("link"),
    h("h2", { id: "screen-title" }, s.t(titleKey)),
    h("p", { class: "lead" }, s.t(textKey)),
  );
}

// Scan & Charge without a personal link on this phone: ask for the access code.
export function codeView(s, { name, notYours, message, busy, onSubmit }) {
  const input = h("input", {
    id: "access-code",
    name: "access_code",
    type: "text",
    required: true,
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    inputmode: "text",
    "aria-describedby": "code-intro",
  });
  const form = h(
    "form",
    {
      class: "stack",
      onsubmit: (event) => {
        event.preventDefault();
        const value = input.value.trim();
        if (value) onSubmit(value);
      },
    },
    h("label", { for: "access-code" }, s.t("code_label")),
    input,
    message && h("p", { class: "alert", role: "alert" }, message),
    h("button", { type: "submit", class: "button primary", disabled: busy }, s.t("code_submit")),
  );
  return h(
    "section",
    { class: "screen card", "data-screen": "code", "aria-labelledby": "code-title" },
    h("h2", { id: "code-title" }, name ? s.t("code_title_named", { name }) : s.t("code_title")),
    notYours && h("p", { class: "note" }, s.t("code_not_yours")),
    h("p", { id: "code-intro" }, s.t("code_intro")),
    form,
  );
}

function statusKey(charger) {
  return charger.online === false ? "status_offline" : `status_${charger.status}`;
}

function accessLine(s, charger) {
  const via = s.has(`via_${charger.via}`) ? s.t(`via_${charger.via}`) : "";
  const until = charger.until ? s.t("until", { date: s.dateTime(charger.until) }) : s.t("no_end");
  return [via, until].filter(Boolean).join(" · ");
}

function metric(label, field, value) {
  return h("div", { class: "metric" }, h("dt", {}, label), h("dd", { "data-field": field }, value));
}

// The live numbers of a running own session; app.js updates the <dd data-field> texts in place.
export function sessionValues(s, session, currency, elapsed = 0) {
  return {
    power: s.kw(session.power_w),
    energy: s.kwh(session.energy_kwh),
    duration: s.duration((session.duration_s || 0) + elapsed),
    cost: s.money(session.cost, currency),
  };
}

function sessionPanel(s, charger, currency, pending, onStop) {
  const values = sessionValues(s, charger.session, currency);
  return h(
    "div",
    { class: "session", "aria-labelledby": `session-${charger.code}` },
    h(
      "h4",
      { id: `session-${charger.code}` },
      s.t("session_running"),
      " ",
      h("span", { class: "muted" }, s.t("since", { time: s.time(charger.session.started) })),
    ),
    h(
      "dl",
      { class: "metrics" },
      metric(s.t("power"), "power", values.power),
      metric(s.t("energy"), "energy", values.energy),
      metric(s.t("duration"), "duration", values.duration),
      metric(s.t("cost"), "cost", values.cost),
    ),
    h(
      "button",
      {
        type: "button",
        class: "button danger",
        disabled: pending === "stop",
        onclick: () => onStop(charger.code),
      },
      pending === "stop" ? s.t("stopping") : s.t("stop"),
    ),
  );
}

function startForm(s, charger, pending, saved, onStart) {
  const id = (name) => `${name}-${charger.code}`;
  const odometer = h("input", {
    id: id("odometer"),
    name: "odometer",
    type: "number",
    inputmode: "numeric",
    min: "0",
    step: "1",
    autocomplete: "off",
    value: saved.odometer || null,
  });
  const vehicle = h("input", {
    id: id("vehicle"),
    name: "vehicle",
    type: "text",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    maxlength: "32",
    value: saved.vehicle || null,
  });
  return h(
    "form",
    {
      class: "stack start-form",
      onsubmit: (event) => {
        event.preventDefault();
        const km = odometer.value.trim();
        onStart(charger.code, km === "" ? null : Number(km), vehicle.value.trim() || null);
      },
    },
    h(
      "details",
      { class: "log", open: saved.open || null },
      h("summary", {}, s.t("drivers_log")),
      h("label", { for: id("odometer") }, s.t("odometer")),
      odometer,
      h("label", { for: id("vehicle") }, s.t("vehicle")),
      vehicle,
    ),
    h(
      "button",
      { type: "submit", class: "button primary", disabled: pending === "start" },
      s.t("start"),
    ),
  );
}

export function chargerCard(s, charger, ctx) {
  const { currency, pending, notice, saved, focused, onStart, onStop } = ctx;
  const status = statusKey(charger);
  let body;
  if (charger.session && charger.session.mine) {
    body = sessionPanel(s, charger, currency, pending, onStop);
  } else if (charger.busy) {
    body = h("p", { class: "note" }, s.t("busy"));
  } else if (charger.can_start || pending === "start") {
    body = startForm(s, charger, pending, saved, onStart);
  } else {
    body = h("p", { class: "note" }, charger.why_not || s.t(status));
  }
  return h(
    "article",
    {
      class: `card charger${focused ? " focused" : ""}`,
      "data-charger": charger.code,
      "data-status": charger.online === false ? "offline" : charger.status,
      "aria-labelledby": `name-${charger.code}`,
    },
    h(
      "div",
      { class: "card-head" },
      h("h3", { id: `name-${charger.code}` }, charger.name),
      h(
        "span",
        { class: `badge ${charger.online ? "online" : "offline"}` },
        charger.online ? s.t("online") : s.t("offline"),
      ),
    ),
    h("p", { class: `status ${status}`, "data-field": "status" }, s.t(status)),
    h("p", { class: "muted small" }, accessLine(s, charger)),
    body,
    pending === "start" && h("p", { class: "note", role: "status" }, s.t("starting")),
    notice && h("p", { class: "alert", role: "alert" }, notice),
  );
}

export function invitationsView(s, invitations, onAccept) {
  if (!invitations.length) return null;
  return h(
    "section",
    { class: "invitations", "aria-labelledby": "invitations-title" },
    h("h2", { id: "invitations-title" }, s.t("invitations")),
    invitations.map((invitation) =>
      h(
        "div",
        { class: "card invitation", "data-group": invitation.group_id },
        h(
          "p",
          {},
          s.t("invitation", { group: invitation.group, chargers: s.list(invitation.chargers || []) }),
        ),
        h(
          "button",
          { type: "button", class: "button primary", onclick: () => onAccept(invitation.group_id) },
          s.t("accept"),
        ),
      ),
    ),
  );
}

export function historyView(s, sessions, currency) {
  return h(
    "section",
    { class: "history", "aria-labelledby": "history-title" },
    h("h2", { id: "history-title" }, s.t("history")),
    sessions.length
      ? h(
          "ul",
          { class: "sessions" },
          sessions.map((session) =>
            h(
              "li",
              { class: "past" },
              h(
                "div",
                { class: "past-main" },
                h("strong", {}, session.charger),
                h("span", { class: "muted small" }, s.dateTime(session.started)),
              ),
              h(
                "div",
                { class: "past-figures" },
                h("span", {}, s.kwh(session.energy_kwh)),
                h("span", { class: "cost" }, s.money(session.cost, session.currency || currency)),
              ),
            ),
          ),
        )
      : h("p", { class: "muted" }, s.t("no_history")),
  );
}
