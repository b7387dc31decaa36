// The i2v console's admin view. The admin token lives in this tab's sessionStorage and goes out
// as `Authorization: Bearer`; no cookie is set. The accounts table is rendered by the server;
// the other panels show the admin API's JSON answers as text.
"use strict";

const TOKEN = "i2v.adminToken";
const $ = (id) => document.getElementById(id);
let after = [0];
let controlsUid = null;

function admin(method, path, body) {
  return callServer({ Authorization: "Bearer " + sessionStorage.getItem(TOKEN) }, method, path, body);
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("workspace").hidden = !signedIn;
  $("logout").hidden = !signedIn;
}

function say(element, text, ok) {
  element.textContent = text;
  element.className = "result " + (ok ? "ok" : "error");
}

async function loadAccounts() {
  const html = await admin("GET", "/console/fragments/admin/accounts?after=" + after[after.length - 1]);
  $("accounts").innerHTML = html;
  const table = document.querySelector("table.accounts");
  const next = table ? table.dataset.nextAfter : "";
  $("accounts-next").disabled = !next;
  $("accounts-next").dataset.after = next || "";
}

async function signIn(token) {
  sessionStorage.setItem(TOKEN, token);
  try {
    await loadAccounts();
  } catch (e) {
    sessionStorage.removeItem(TOKEN);
    $("login-error").textContent = "Signing in failed: " + e.message;
    $("login-error").hidden = false;
    return;
  }
  $("login-error").hidden = true;
  show(true);
}

async function accountAction(button) {
  const row = button.closest("tr.account");
  const uid = row.dataset.uid;
  const action = button.dataset.action;
  const result = $("account-result");
  try {
    if (action === "controls") {
      controlsUid = uid;
      $("controls-uid").textContent = uid;
      $("controls-card").hidden = false;
      await readControl();
      return;
    }
    let data;
    if (action === "credits") {
      const amount = Number(row.querySelector("input.amount").value);
      data = await admin("POST", `/_admin/v1/accounts/${uid}/credits`, { amount });
      say(result, `Account ${uid}: ${data.credits} credits`, true);
    } else if (action === "rotate-secret") {
      data = await admin("POST", `/_admin/v1/accounts/${uid}/rotate-secret`, {});
      say(result, `Account ${uid}: new API key ${data.clientSecret} (shown once)`, true);
    } else {
      data = await admin("POST", `/_admin/v1/accounts/${uid}/${action}`, {});
      say(result, `Account ${uid}: ${action} done`, true);
    }
  } catch (e) {
    say(result, `Account ${uid}: ${action} failed: ${e.message}`, false);
  }
  await loadAccounts();
}

const CONTROLS = {
  lifecycle: { read: ["GET", "lifecycle"], save: ["PUT", "lifecycle"] },
  outcomes: { read: ["GET", "outcomes"], save: ["POST", "outcomes"], clear: ["DELETE", "outcomes"] },
  clock: { read: ["GET", "clock"], save: ["POST", "clock/advance"] },
  faults: { read: ["GET", "faults"], save: ["PUT", "faults"], clear: ["DELETE", "faults"] },
  "webhook-faults": { read: ["GET", "webhook-faults"], save: ["PUT", "webhook-faults"], clear: ["DELETE", "webhook-faults"] },
  journal: { read: ["GET", "journal"], clear: ["DELETE", "journal"] },
};

function controlPath(control, what) {
  if (control === "journal") return `/_admin/v1/requests?uid=${controlsUid}`;
  return `/_admin/v1/accounts/${controlsUid}/${what}`;
}

async function runControl(kind) {
  const control = $("control").value;
  const spec = CONTROLS[control][kind];
  const result = $("control-result");
  if (!spec) {
    say(result, `${control} cannot be ${kind === "save" ? "saved" : "cleared"}`, false);
    return;
  }
  let body;
  if (kind === "save") {
    try {
      body = JSON.parse($("control-json").value);
    } catch (e) {
      say(result, "Not JSON: " + e.message, false);
      return;
    }
  }
  try {
    const data = await admin(spec[0], controlPath(control, spec[1]), body);
    $("control-json").value = JSON.stringify(data, null, 2);
    say(result, `${control}: ${spec[0]} done`, true);
  } catch (e) {
    say(result, `${control}: ${e.message}`, false);
  }
}

const readControl = () => runControl("read");

async function showWebhooks(event) {
  if (event) event.preventDefault();
  const video = $("webhooks-video-id").value.trim();
  const tbody = $("webhooks");
  tbody.textContent = "";
  let data;
  try {
    data = await admin("GET", "/_admin/v1/webhooks" + (video ? "?video_id=" + encodeURIComponent(video) : ""));
  } catch (e) {
    const row = tbody.insertRow();
    row.insertCell().textContent = "Failed: " + e.message;
    return;
  }
  for (const d of data.result || []) {
    const row = tbody.insertRow();
    row.className = "delivery";
    row.dataset.id = d.id;
    row.dataset.state = d.state;
    for (const value of [d.id, d.video_id, d.video_status, d.state]) {
      row.insertCell().textContent = String(value);
    }
    // Each attempt: when, and what the receiver answered (or why nothing arrived).
    const attempts = document.createElement("ol");
    attempts.className = "attempts";
    for (const a of d.attempt_log || []) {
      const li = document.createElement("li");
      const outcome = a.http_status ? "HTTP " + a.http_status : a.error || "no answer";
      li.textContent = new Date(a.at).toISOString().replace("T", " ").slice(0, 19) + " UTC: " + outcome;
      attempts.appendChild(li);
    }
    const cell = row.insertCell();
    cell.textContent = String(d.attempts);
    cell.appendChild(attempts);
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Redeliver";
    button.addEventListener("click", async () => {
      try {
        await admin("POST", `/_admin/v1/webhooks/${d.id}/redeliver`, {});
      } catch (e) {
        button.textContent = "Failed: " + e.message;
        return;
      }
      showWebhooks();
    });
    row.insertCell().appendChild(button);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  if (!$("login-admin")) return;
  $("login-admin").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("admin-token").value.trim();
    $("admin-token").value = "";
    signIn(token);
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN);
    $("accounts").textContent = "";
    show(false);
  });
  $("create-account").addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await admin("POST", "/_admin/v1/accounts", {
        name: $("account-name").value,
        credits: Number($("account-credits").value),
      });
      say($("account-result"), `Created account ${data.uid}: clientId ${data.clientId}, API key ${data.clientSecret} (shown once)`, true);
      $("account-result").dataset.uid = data.uid;
    } catch (e) {
      say($("account-result"), "Not created: " + e.message, false);
    }
    loadAccounts();
  });
  $("accounts").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button) accountAction(button);
  });
  $("accounts-next").addEventListener("click", () => {
    after.push(Number($("accounts-next").dataset.after));
    loadAccounts();
  });
  $("accounts-first").addEventListener("click", () => {
    after = [0];
    loadAccounts();
  });
  $("video-status").addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = $("status-video-id").value.trim();
    try {
      const data = await admin("POST", `/_admin/v1/videos/${id}/status`, { status: Number($("status-value").value) });
      say($("status-result"), `Video ${id}: status ${data.status}`, true);
    } catch (e) {
      say($("status-result"), `Video ${id}: ${e.message}`, false);
    }
  });
  $("webhooks-form").addEventListener("submit", showWebhooks);
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    readControl();
  });
  $("control-save").addEventListener("click", () => runControl("save"));
  $("control-clear").addEventListener("click", () => runControl("clear"));
  if (sessionStorage.getItem(TOKEN)) {
    signIn(sessionStorage.getItem(TOKEN));
  } else {
    show(false);
  }
});
