// What both console views share: one way to call the server. Loaded before the view's script.
"use strict";

// `method path` with `credentials` (headers) and a JSON `body`; an Akool-style error (`code`,
// `msg`) becomes an Error, a JSON answer its `data`, an HTML fragment its text. Never a cookie.
async function callServer(credentials, method, path, body) {
  const headers = Object.assign({}, credentials || {});
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
    cache: "no-store",
  });
  const type = response.headers.get("content-type") || "";
  if (type.includes("application/json")) {
    const answer = await response.json();
    if (answer.code !== 1000) {
      const error = new Error(answer.msg || "request failed (code " + answer.code + ")");
      error.code = answer.code;
      throw error;
    }
    return answer.data === undefined ? answer : answer.data;
  }
  if (!response.ok) throw new Error("HTTP " + response.status);
  return response.text();
}
