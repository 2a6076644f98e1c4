// The try page's behaviour. Served as its own file so the Content-Security-Policy can forbid inline script. Text from
// the server and the user only ever reaches the DOM through textContent (never as HTML): the app translates hostile
// input, and its answers and problem details may echo it.
"use strict";

(() => {
  // Calls go to the API beside this script (…/api/try/app.js → …/api/), so a different routePrefix still works.
  const api = new URL("../", document.currentScript.src);
  const keyStorage = "serverless-inference.function-key";
  const $ = (id) => document.getElementById(id);
  const form = $("form");
  const text = $("text");
  const model = $("model");
  const beams = $("beams");
  const html = $("html");
  const key = $("key");
  const button = $("translate");
  const status = $("status");
  const result = $("result");
  const meta = $("meta");
  const error = $("error");

  function showError(message) {
    error.textContent = message;
    error.hidden = false;
  }

  function clearOutput() {
    result.textContent = "";
    meta.textContent = "";
    error.textContent = "";
    error.hidden = true;
  }

  // Seconds from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
  function retryAfterSeconds(header) {
    if (header === null) {
      return null;
    }

    if (/^\d+$/.test(header.trim())) {
      return Number(header.trim());
    }

    const at = Date.parse(header);
    return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
  }

  // One line for a failed call: the problem+json detail where there is one (the app's errors), or what the status
  // means (the host's own 401 and 404 have empty bodies).
  async function describeFailure(response) {
    let title = response.statusText;
    let detail = "";
    const type = response.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      try {
        const problem = await response.json();
        if (typeof problem.title === "string") {
          title = problem.title;
        }

        if (typeof problem.detail === "string") {
          detail = problem.detail;
        }
      } catch {
        // Not JSON after all: the status alone has to do.
      }
    }

    if (response.status === 401) {
      return key.value.trim()
        ? "401: the function key was refused. Check the key field."
        : "401: this app needs a function key for /api/translate. Enter it in the key field.";
    }

    const prefix = `${response.status}${title ? " " + title : ""}`;
    if (response.status === 503) {
      const seconds = retryAfterSeconds(response.headers.get("Retry-After"));
      const busy = seconds === null ? "Busy, retry later." : `Busy, retry in ${seconds} s.`;
      return `${prefix}: ${busy}${detail ? " " + detail : ""}`;
    }

    return detail ? `${prefix}: ${detail}` : prefix;
  }

  function modelLabel(entry) {
    return entry.state ? `${entry.name} (${entry.state})` : entry.name;
  }

  // The model list from GET /api/health; refreshed after each translation so that the states shown stay current.
  async function loadModels() {
    let health;
    try {
      const response = await fetch(new URL("health", api), { headers: { Accept: "application/json" } });
      if (!response.ok) {
        showError("Could not list the models: " + await describeFailure(response));
        return;
      }

      health = await response.json();
    } catch (e) {
      showError(`Could not reach the app: ${e.message}`);
      return;
    }

    const chosen = model.value;
    const models = Array.isArray(health.models) ? health.models : [];
    for (const option of [...model.options].slice(1)) {
      option.remove();
    }

    for (const entry of models) {
      if (typeof entry.name !== "string") {
        continue;
      }

      const option = document.createElement("option");
      option.value = entry.name;
      option.textContent = modelLabel(entry);
      model.append(option);
    }

    model.value = [...model.options].some((o) => o.value === chosen) ? chosen : "";
  }

  async function translate(event) {
    event.preventDefault();
    clearOutput();
    const body = { text: text.value };
    if (model.value) {
      body.model = model.value;
    }

    if (beams.value) {
      body.beams = Number(beams.value);
    }

    if (html.checked) {
      body.format = "html";
    }

    const headers = { "Content-Type": "application/json", Accept: "application/json" };
    const functionKey = key.value.trim();
    if (functionKey) {
      headers["x-functions-key"] = functionKey;
    }

    button.disabled = true;
    status.textContent = "Translating…";
    try {
      const response = await fetch(new URL("translate", api), { method: "POST", headers, body: JSON.stringify(body) });
      if (!response.ok) {
        showError(await describeFailure(response));
        return;
      }

      const answer = await response.json();
      const translations = Array.isArray(answer.translations) ? answer.translations : [];
      result.textContent = translations.map((t) => t.text).join("\n");
      const tokensIn = translations.reduce((sum, t) => sum + (t.inputTokens || 0), 0);
      const tokensOut = translations.reduce((sum, t) => sum + (t.outputTokens || 0), 0);
      meta.textContent = `${answer.model} · ${answer.durationMs} ms · ${tokensIn} → ${tokensOut} tokens`;
    } catch (e) {
      showError(`Could not reach the app: ${e.message}`);
    } finally {
      button.disabled = false;
      status.textContent = "";
    }

    await loadModels();
  }

  key.value = sessionStorage.getItem(keyStorage) || "";
  key.addEventListener("input", () => {
    const value = key.value.trim();
    if (value) {
      sessionStorage.setItem(keyStorage, value);
    } else {
      sessionStorage.removeItem(keyStorage);
    }
  });
  form.addEventListener("submit", translate);
  loadModels();
})();
