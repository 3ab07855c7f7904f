// The guest API (docs: the HTTP contract): JSON in, JSON out, errors as ApiError.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.error) || (status === 0 ? "network" : "unknown");
    this.retryAfter = body && body.retry_after;
    this.serverMessage = body && body.message;
  }
}

export class Api {
  constructor(base) {
    this.base = base; // ".../webasto_chargeconnect/guest/api/"
    this.csrf = null;
  }

  async request(method, name, body) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method === "POST" && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    let response;
    try {
      response = await fetch(new URL(name, this.base), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError(0, null);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) throw new ApiError(response.status, data);
    return data || {};
  }

  login(token) {
    return this.request("POST", "login", { token });
  }

  code(charger, accessCode) {
    return this.request("POST", "code", { charger, access_code: accessCode });
  }

  chargerName(code) {
    return this.request("GET", `charger/${encodeURIComponent(code)}`);
  }

  logout() {
    return this.request("POST", "logout", {});
  }

  async me() {
    const data = await this.request("GET", "me");
    this.csrf = data.csrf || null;
    return data;
  }

  start(charger, odometer, vehicle) {
    return this.request("POST", "start", { charger, odometer, vehicle });
  }

  stop(charger) {
    return this.request("POST", "stop", { charger });
  }

  accept(groupId) {
    return this.request("POST", "accept", { group_id: groupId });
  }
}
