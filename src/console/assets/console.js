// The i2v console's one script. Credentials live in this tab's sessionStorage and go out as
// headers (x-api-key, or Authorization: Bearer for a token from client ID and secret); no
// cookie is ever set. Pages and fragments are rendered by the server; this script fetches
// them, sends the actions to the API, and refreshes while videos are unfinished.
"use strict";

const KEY = "i2v.apiKey";
const TOKEN = "i2v.token";
const $ = (id) => document.getElementById(id);

function credentials() {
  const key = sessionStorage.getItem(KEY);
  if (key) return { "x-api-key": key };
  const token = sessionStorage.getItem(TOKEN);
  if (token) return { Authorization: "Bearer " + token };
  return null;
}

function request(method, path, body) {
  return callServer(credentials(), method, path, body);
}

// ---- signing in and out ----

async function signIn(store) {
  store();
  try {
    await loadAccount();
  } catch (e) {
    sessionStorage.clear();
    showError($("login-error"), "Signing in failed: " + e.message);
    return;
  }
  $("login-error").hidden = true;
  show(true);
  list.reset();
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("workspace").hidden = !signedIn;
  $("logout").hidden = !signedIn;
  $("who").hidden = !signedIn;
}

function showError(element, text) {
  element.textContent = text;
  element.hidden = false;
}

async function loadAccount() {
  const html = await request("GET", "/console/fragments/account");
  $("account").innerHTML = html;
  $("who").textContent = "Account " + $("uid").textContent;
}

// ---- the video list ----

const list = {
  cursors: [""],
  timer: null,
  query() {
    const status = $("status-filter").value;
    const q = $("search").value.trim();
    const params = new URLSearchParams();
    if (status) params.set("status", status);
    if (q) params.set("q", q);
    const cursor = this.cursors[this.cursors.length - 1];
    if (cursor) params.set("cursor", cursor);
    return params.toString();
  },
  reset() {
    this.cursors = [""];
    this.load();
  },
  async load() {
    clearTimeout(this.timer);
    let html;
    try {
      html = await request("GET", "/console/fragments/videos?" + this.query());
    } catch (e) {
      $("videos").textContent = "Could not load videos: " + e.message;
      return;
    }
    const picked = new Set(pickedIds());
    $("videos").innerHTML = html;
    for (const box of document.querySelectorAll("input.pick")) {
      box.checked = picked.has(box.value);
    }
    updateSelection();
    const table = document.querySelector("table.videos");
    const next = table ? table.dataset.nextCursor : "";
    $("next-page").disabled = !next;
    $("next-page").dataset.cursor = next || "";
    if (table && table.dataset.unfinished === "true") {
      // Queued and processing videos change on their own: watch them without reloading.
      this.timer = setTimeout(() => {
        this.load();
        loadAccount().catch(() => {});
      }, 1000);
    }
  },
};

function pickedIds() {
  return Array.from(document.querySelectorAll("input.pick:checked")).map((b) => b.value);
}

function updateSelection() {
  const n = pickedIds().length;
  $("selected-count").textContent = n + " selected";
  $("delete-selected").disabled = n === 0;
}

async function deleteSelected() {
  const ids = pickedIds();
  if (ids.length === 0) return;
  const outcomes = $("delete-outcomes");
  outcomes.textContent = "";
  try {
    const data = await request("POST", "/api/open/v4/image2Video/delbyids", { _ids: ids.join(",") });
    for (const id of data.successIds || []) addOutcome(outcomes, id, "deleted", "deleted");
    for (const item of data.noPermissionItems || []) {
      const refused = item.msg.includes("processing") ? "processing-refused" : "not-found";
      addOutcome(outcomes, item._id, refused, item.msg);
    }
  } catch (e) {
    addOutcome(outcomes, "", "error", "Delete failed: " + e.message);
  }
  list.load();
  loadAccount().catch(() => {});
}

function addOutcome(outcomes, id, kind, text) {
  const li = document.createElement("li");
  li.className = "outcome " + kind;
  li.dataset.id = id;
  li.dataset.outcome = kind;
  li.textContent = (id ? id + ": " : "") + text;
  outcomes.appendChild(li);
}

// ---- create ----

function fillModelChoices() {
  const option = $("model").selectedOptions[0];
  if (!option) return;
  const fill = (select, values) => {
    select.textContent = "";
    for (const value of values.split(",").filter(Boolean)) {
      const o = document.createElement("option");
      o.value = value;
      o.textContent = value;
      select.appendChild(o);
    }
  };
  fill($("resolution"), option.dataset.resolutions);
  fill($("video-length"), option.dataset.durations);
}

async function create(event) {
  event.preventDefault();
  const audioType = Number($("audio-type").value);
  const body = {
    image_url: $("image-url").value.trim(),
    prompt: $("prompt").value,
    negative_prompt: "",
    model_name: $("model").value,
    resolution: $("resolution").value,
    video_length: Number($("video-length").value),
    audio_type: audioType,
    audio_url: audioType === 2 ? $("audio-url").value.trim() : "",
    count: 1,
    is_premium_model: false,
  };
  if ($("effect").value) body.effect_code = $("effect").value;
  const result = $("create-result");
  try {
    const data = await request("POST", "/api/open/v4/image2Video/createBySourcePrompt/batch", body);
    const id = data.successList[0]._id;
    result.textContent = "Created " + id;
    result.dataset.id = id;
    result.className = "result ok";
  } catch (e) {
    result.textContent = "Not created: " + e.message;
    result.className = "result error";
  }
  $("status-filter").value = "";
  $("search").value = "";
  list.reset();
  loadAccount().catch(() => {});
}

// ---- playing ----

function play(button) {
  const video = $("player-video");
  video.src = button.dataset.url;
  $("player-caption").textContent = button.dataset.caption;
  $("player").showModal();
}

// ---- wiring ----

document.addEventListener("DOMContentLoaded", () => {
  $("login-key").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    $("api-key").value = "";
    signIn(() => {
      sessionStorage.clear();
      sessionStorage.setItem(KEY, key);
    });
  });
  $("login-secret").addEventListener("submit", async (event) => {
    event.preventDefault();
    const clientId = $("client-id").value.trim();
    const clientSecret = $("client-secret").value;
    $("client-secret").value = "";
    sessionStorage.clear();
    try {
      const answer = await fetch("/api/open/v3/getToken", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ clientId, clientSecret }),
        credentials: "omit",
      }).then((r) => r.json());
      if (answer.code !== 1000) throw new Error(answer.msg || "code " + answer.code);
      signIn(() => sessionStorage.setItem(TOKEN, answer.token));
    } catch (e) {
      showError($("login-error"), "Signing in failed: " + e.message);
    }
  });
  $("logout").addEventListener("click", () => {
    sessionStorage.clear();
    clearTimeout(list.timer);
    $("videos").textContent = "";
    $("account").textContent = "";
    show(false);
  });
  $("model").addEventListener("change", fillModelChoices);
  fillModelChoices();
  $("audio-type").addEventListener("change", () => {
    $("audio-url-label").hidden = $("audio-type").value !== "2";
  });
  $("create").addEventListener("submit", create);
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    list.reset();
  });
  $("next-page").addEventListener("click", () => {
    list.cursors.push($("next-page").dataset.cursor);
    list.load();
  });
  $("first-page").addEventListener("click", () => list.reset());
  $("delete-selected").addEventListener("click", deleteSelected);
  $("videos").addEventListener("change", (event) => {
    if (event.target.classList.contains("pick")) updateSelection();
  });
  $("videos").addEventListener("click", (event) => {
    const button = event.target.closest("button.play");
    if (button) play(button);
  });
  // A video without a poster (emulated or seeded) keeps the plain tile.
  $("videos").addEventListener("error", (event) => {
    if (event.target.classList && event.target.classList.contains("poster")) event.target.remove();
  }, true);
  $("player").addEventListener("close", () => {
    $("player-video").pause();
  });
  if (credentials()) {
    signIn(() => {});
  } else {
    show(false);
  }
});
