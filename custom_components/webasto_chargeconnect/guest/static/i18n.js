// The page's strings (i18n.json: en, nl, de) and number, date and duration formats.
// The language is the first of navigator.languages that we speak, English otherwise.

const SUPPORTED = ["en", "nl", "de"];

export function pickLanguage(languages) {
  for (const tag of languages || []) {
    const primary = String(tag).toLowerCase().split("-")[0];
    if (SUPPORTED.includes(primary)) return primary;
  }
  return "en";
}

export class Strings {
  constructor(table, lang) {
    this.lang = lang;
    this.table = table[lang] || table.en;
    this.fallback = table.en;
    this.locale = (navigator.languages || []).find(
      (tag) => String(tag).toLowerCase().split("-")[0] === lang,
    ) || lang;
  }

  // The string for key with {placeholders} filled in.
  t(key, vars = {}) {
    const text = this.table[key] ?? this.fallback[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
  }

  has(key) {
    return key in this.table;
  }

  number(value, digits) {
    return new Intl.NumberFormat(this.locale, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value);
  }

  // null (no meter value yet) shows as a dash, not as a made-up zero.
  kw(watts) {
    if (watts === null || watts === undefined) return this.t("no_cost");
    return this.t("kw", { n: this.number(watts / 1000, 1) });
  }

  kwh(kwh) {
    if (kwh === null || kwh === undefined) return this.t("no_cost");
    return this.t("kwh", { n: this.number(kwh, 2) });
  }

  money(amount, currency) {
    if (amount === null || amount === undefined) return this.t("no_cost");
    try {
      return new Intl.NumberFormat(this.locale, { style: "currency", currency }).format(amount);
    } catch {
      return `${this.number(amount, 2)} ${currency || ""}`.trim();
    }
  }

  duration(seconds) {
    const total = Math.max(0, Math.floor(seconds || 0));
    if (total < 60) return this.t("seconds", { n: total });
    const minutes = Math.floor(total / 60);
    if (minutes < 60) return this.t("minutes", { n: minutes });
    return this.t("hours_minutes", { h: Math.floor(minutes / 60), m: minutes % 60 });
  }

  dateTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return new Intl.DateTimeFormat(this.locale, { dateStyle: "medium", timeStyle: "short" })
      .format(date);
  }

  time(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return new Intl.DateTimeFormat(this.locale, { timeStyle: "short" }).format(date);
  }

  list(items) {
    try {
      return new Intl.ListFormat(this.locale, { type: "conjunction" }).format(items);
    } catch {
      return items.join(", ");
    }
  }
}

export async function loadStrings(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  const table = await response.json();
  return new Strings(table, pickLanguage(navigator.languages));
}
