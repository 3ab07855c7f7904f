// The guest page: log in from the link's fragment, show this person's chargers and sessions,
// start and stop, accept invitations; Scan & Charge with an access code. No dependencies.
// The HTTP contract is docs of the backend (views in ../); this file only talks to /api/*.

import { Api } from "./api.js";
import { h, replace } from "./dom.js";
import { loadStrings } from "./i18n.js";
import * as views from "./views.js";

const STATIC = new URL("./", import.meta.url); // …/webasto_chargeconnect/guest/static/
const BASE = new URL("../", STATIC); // …/webasto_chargeconnect/guest/
const POLL_MS = 3000; // /api/me while the page is visible
const PENDING_POLL_MS = 1000; // while a start or stop is on its way
const PENDING_MS = 90000; // give up waiting for a start or stop to show after this

const main = document.getElementById("main");
const banner = document.getElementById("banner");
const signOutButton = document.getElementById("sign-out");

function chargerFromPath() {
  const rest = location.pathname.slice(BASE.pathname.length);
  const match = /^c\/([^/]+)\/?$/.exec(rest);
  return match ? decodeURIComponent(match[1]) : null;
}

class GuestPage {
  constructor(strings) {
    this.s = strings;
    this.api = new Api(new URL("api/", BASE));
    this.charger = chargerFromPath(); // the charger of a Scan & Charge link
    this.me = null;
    this.fetchedAt = 0;
    this.screen = null;
    this.polling = false;
    this.timer = null;
    this.inflight = false;
    this.pending = new Map(); // charger code -> {kind: "start" | "stop", at}
    this.notices = new Map(); // charger code -> sentence
    this.flash = null;
    this.codeMessage = null;
    this.codeBusy = false;
    this.chargerName = undefined; // of a Scan & Charge link, once asked for
    this.signatures = new Map();
  }

  async run() {
    const s = this.s;
    document.documentElement.lang = s.lang;
    document.title = `${s.t("title")} · Webasto ChargeConnect`;
    document.getElementById("title").textContent = s.t("title");
    document.getElementById("footer").textContent = s.t("footer");
    signOutButton.textContent = s.t("sign_out");
    signOutButton.addEventListener("click", () => this.signOut());
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.polling) this.schedule(0);
    });
    // A link opened in a tab that shows this page already: start over with its token.
    window.addEventListener("hashchange", () => {
      if (location.hash.length > 1) location.reload();
    });
    setInterval(() => this.tick(), 1000);
    this.show("loading", views.loadingView(s));
    const token = location.hash.slice(1);
    if (token) {
      // The token leaves the address bar (and the history) before anything else happens.
      history.replaceState(null, "", location.pathname + location.search);
      await this.login(decodeURIComponent(token));
    } else {
      await this.refresh(true);
    }
  }

  async login(token) {
    this.show("loading", views.loadingView(this.s));
    try {
      await this.api.login(token);
    } catch (error) {
      // Rate limited: "Try again" logs in with the same token (it is no longer in the URL).
      this.showError(error, () => this.login(token));
      return;
    }
    await this.refresh(true);
  }

  // ------------------------------------------------------------------ screens
  show(name, ...content) {
    this.screen = name;
    this.signatures.clear();
    replace(main, ...content);
    main.setAttribute("aria-busy", "false");
    signOutButton.hidden = name !== "main";
    if (name !== "main" && name !== "loading") main.focus();
  }

  showError(error, again = null) {
    this.stopPolling();
    banner.hidden = true;
    const retry =
      error.code === "rate_limited" ? again || (() => this.refresh(true)) : null;
    const screen = views.errorView(this.s, error, retry);
    if (this.charger && error.code !== "rate_limited") {
      this.show(`error-${error.code}`, screen, this.codeForm(false));
    } else {
      this.show(`error-${error.code}`, screen);
    }
  }

  codeForm(notYours) {
    return views.codeView(this.s, {
      name: this.chargerName,
      notYours,
      message: this.codeMessage,
      busy: this.codeBusy,
      onSubmit: (value) => this.submitCode(value),
    });
  }

  async showCode() {
    this.stopPolling();
    if (this.chargerName === undefined) {
      // The sticker's charger by name, so the person knows they are at the right one.
      try {
        this.chargerName = (await this.api.chargerName(this.charger)).name || null;
      } catch {
        this.chargerName = null;
      }
    }
    this.show("code", this.codeForm(false));
  }

  // ------------------------------------------------------------------ polling
  schedule(ms) {
    clearTimeout(this.timer);
    this.polling = true;
    this.timer = setTimeout(() => this.refresh(false), ms);
  }

  stopPolling() {
    this.polling = false;
    clearTimeout(this.timer);
  }

  async refresh(initial) {
    if (this.inflight) return;
    this.inflight = true;
    try {
      this.me = await this.api.me();
      this.fetchedAt = performance.now();
      banner.hidden = true;
      this.renderMain();
    } catch (error) {
      this.inflight = false;
      this.refreshFailed(error, initial);
      return;
    }
    this.inflight = false;
    if (!document.hidden) this.schedule(this.pending.size ? PENDING_POLL_MS : POLL_MS);
    else this.polling = true;
  }

  refreshFailed(error, initial) {
    if (initial && error.code === "invalid_link" && !this.me) {
      // Nobody is logged in on this phone: the charger's access-code form, or how to get in.
      if (this.charger) this.showCode();
      else {
        this.stopPolling();
        this.show("no_link", views.messageView(this.s, "no_link_title", "no_link_text", "no_link"));
      }
    } else if (views.isScreenError(error.code)) {
      this.showError(error);
    } else {
      // The network or the server: say so, keep the last data, try again.
      banner.textContent = this.s.t(error.code === "network" ? "err_network" : "err_unknown");
      banner.hidden = false;
      if (this.screen === "loading") this.show("loading", views.loadingView(this.s));
      this.schedule(POLL_MS);
    }
  }

  // ------------------------------------------------------------------ the main screen
  layout() {
    const s = this.s;
    this.parts = {
      hello: h("p", { class: "hello", id: "hello" }),
      flash: h("div", { class: "flash-area" }),
      invitations: h("div", {}),
      code: h("div", {}),
      cards: h("div", { class: "cards" }),
      empty: h("p", { class: "muted", hidden: true }, s.t("no_chargers")),
      history: h("div", {}),
    };
    const p = this.parts;
    this.show(
      "main",
      p.hello,
      p.flash,
      p.invitations,
      p.code,
      h(
        "section",
        { class: "chargers", "aria-labelledby": "chargers-title" },
        h("h2", { id: "chargers-title" }, s.t("chargers")),
        p.empty,
        p.cards,
      ),
      p.history,
    );
  }

  renderMain() {
    const me = this.me;
    const s = this.s;
    if (this.screen !== "main") this.layout();
    const p = this.parts;
    p.hello.textContent = s.t("hello", { name: me.person?.name || "" });
    this.part("flash", this.flash, () =>
      this.flash ? h("p", { class: "flash", role: "status" }, this.flash) : null,
    );
    const invitations = me.invitations || [];
    this.part("invitations", invitations, () =>
      views.invitationsView(s, invitations, (id) => this.accept(id)),
    );
    const chargers = this.ordered(me.chargers || []);
    const focusKnown = !this.charger || chargers.some((c) => c.code === this.charger);
    this.part("code", [focusKnown, this.codeMessage, this.codeBusy], () =>
      focusKnown ? null : this.codeForm(true),
    );
    p.empty.hidden = chargers.length > 0;
    this.renderCards(chargers);
    const sessions = me.sessions || [];
    this.part("history", [sessions, me.currency], () =>
      views.historyView(s, sessions, me.currency),
    );
  }

  // Rebuild one part only when what it shows changed (keeps focus and typing intact).
  part(name, data, build) {
    const signature = JSON.stringify(data);
    if (this.signatures.get(name) === signature) return;
    this.signatures.set(name, signature);
    replace(this.parts[name], build());
  }

  ordered(chargers) {
    if (!this.charger) return chargers;
    return [...chargers].sort((a, b) => (b.code === this.charger) - (a.code === this.charger));
  }

  renderCards(chargers) {
    const now = performance.now();
    const cards = this.parts.cards;
    const existing = new Map([...cards.children].map((el) => [el.dataset.charger, el]));
    const wanted = [];
    for (const charger of chargers) {
      const pending = this.pending.get(charger.code);
      if (pending) {
        const done = pending.kind === "start" ? charger.session?.mine : !charger.session;
        if (done || now - pending.at > PENDING_MS) this.pending.delete(charger.code);
      }
      const kind = this.pending.get(charger.code)?.kind || null;
      const notice = this.notices.get(charger.code) || null;
      const { session, ...rest } = charger;
      const signature = JSON.stringify([rest, Boolean(session), session?.started, kind, notice]);
      let card = existing.get(charger.code);
      if (!card || card.dataset.signature !== signature) {
        const old = card;
        const saved = old ? this.savedInputs(old) : {};
        card = views.chargerCard(this.s, charger, {
          currency: this.me.currency,
          pending: kind,
          notice,
          saved,
          focused: charger.code === this.charger,
          onStart: (code, odometer, vehicle) => this.start(code, odometer, vehicle),
          onStop: (code) => this.stop(code),
        });
        card.dataset.signature = signature;
        if (old) {
          const focusId = old.contains(document.activeElement) ? document.activeElement.id : null;
          old.replaceWith(card);
          if (focusId) document.getElementById(focusId)?.focus();
        }
      } else if (session) {
        this.updateValues(card, charger, 0);
      }
      existing.delete(charger.code);
      wanted.push(card);
    }
    for (const stale of existing.values()) stale.remove();
    wanted.forEach((card, index) => {
      if (cards.children[index] !== card) cards.insertBefore(card, cards.children[index] || null);
    });
  }

  savedInputs(card) {
    const value = (name) => card.querySelector(`input[name="${name}"]`)?.value || "";
    return {
      odometer: value("odometer"),
      vehicle: value("vehicle"),
      open: Boolean(card.querySelector("details")?.open),
    };
  }

  updateValues(card, charger, elapsed) {
    const values = views.sessionValues(this.s, charger.session, this.me.currency, elapsed);
    for (const [field, text] of Object.entries(values)) {
      const el = card.querySelector(`[data-field="${field}"]`);
      if (el && el.textContent !== text) el.textContent = text;
    }
  }

  tick() {
    if (this.screen !== "main" || !this.me) return;
    const elapsed = (performance.now() - this.fetchedAt) / 1000;
    for (const charger of this.me.chargers || []) {
      if (!charger.session) continue;
      const card = this.parts.cards.querySelector(`[data-charger="${CSS.escape(charger.code)}"]`);
      if (card) this.updateValues(card, charger, elapsed);
    }
  }

  // ------------------------------------------------------------------ actions
  async act(code, kind, call) {
    this.notices.delete(code);
    this.pending.set(code, { kind, at: performance.now() });
    this.renderMain();
    try {
      await call();
    } catch (error) {
      this.pending.delete(code);
      if (views.isScreenError(error.code) && error.code !== "rate_limited") {
        this.showError(error);
        return;
      }
      this.notices.set(code, views.errorText(this.s, error));
    }
    this.renderMain();
    await this.refreshNow();
  }

  async refreshNow() {
    clearTimeout(this.timer);
    while (this.inflight) await new Promise((resolve) => setTimeout(resolve, 50));
    await this.refresh(false);
  }

  start(code, odometer, vehicle) {
    return this.act(code, "start", () => this.api.start(code, odometer, vehicle));
  }

  stop(code) {
    return this.act(code, "stop", () => this.api.stop(code));
  }

  async accept(groupId) {
    try {
      await this.api.accept(groupId);
      this.flash = this.s.t("accepted");
    } catch (error) {
      if (views.isScreenError(error.code) && error.code !== "rate_limited") {
        this.showError(error);
        return;
      }
      this.flash = views.errorText(this.s, error);
    }
    await this.refreshNow();
  }

  async submitCode(value) {
    this.codeBusy = true;
    this.codeMessage = null;
    try {
      await this.api.code(this.charger, value);
    } catch (error) {
      this.codeBusy = false;
      this.codeMessage =
        error.status === 401 ? this.s.t("code_wrong") : views.errorText(this.s, error);
      if (this.screen === "main") this.renderMain();
      else await this.showCode();
      document.getElementById("access-code")?.focus();
      return;
    }
    this.codeBusy = false;
    this.me = null;
    this.show("loading", views.loadingView(this.s));
    await this.refresh(true);
  }

  async signOut() {
    this.stopPolling();
    try {
      await this.api.logout();
    } catch {
      // Signed out all the same: the cookie is what the server checks.
    }
    this.me = null;
    this.show("signed_out", views.messageView(this.s, "no_link_title", "signed_out", "signed_out"));
  }
}

async function boot() {
  const strings = await loadStrings(new URL("i18n.json", STATIC));
  await new GuestPage(strings).run();
}

boot().catch(() => {
  // The strings themselves did not load: the one message that cannot come from i18n.json.
  replace(
    main,
    h("p", { class: "alert", role: "alert", lang: "en" }, "Something went wrong. Please reload."),
    h("p", { class: "alert", lang: "nl" }, "Er ging iets mis. Laad de pagina opnieuw."),
    h("p", { class: "alert", lang: "de" }, "Etwas ist schiefgelaufen. Bitte neu laden."),
  );
});
