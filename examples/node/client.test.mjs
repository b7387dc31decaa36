// Tests of client.mjs against i2v, each path put in place with i2v's admin controls.
// Run: I2V_URL=... I2V_ADMIN_TOKEN=... I2V_IMAGE_URL=... node --test examples/node/
// (or `source i2v-dev/dev.env` first: the I2V_DEV_* variables are used when those are unset).
// Every test creates its own account, so tests never disturb one another or other CI jobs
// sharing the server. No test sleeps for the server: the account's clock is moved instead.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createHash, randomUUID } from "node:crypto";
import { test } from "node:test";

import { AkoolClient, AkoolError, StillProcessing, VideoFailed, getToken } from "./client.mjs";

function env(name, devName) {
  const value = process.env[name] || process.env[devName];
  if (!value) throw new Error(`set ${name} (or source i2v-dev/dev.env for ${devName})`);
  return value;
}

const I2V_URL = env("I2V_URL", "I2V_DEV_URL").replace(/\/+$/, "");
const ADMIN_TOKEN = env("I2V_ADMIN_TOKEN", "I2V_DEV_ADMIN_TOKEN");
const IMAGE_URL = env("I2V_IMAGE_URL", "I2V_DEV_IMAGE");
const DAY_MS = 86_400_000;
// 720p, 5 s: 4 credits a second.
const PRICE = 20;

class AdminError extends Error {
  constructor(code, msg) {
    super(`admin error ${code}: ${msg}`);
    this.code = code;
    this.msg = msg;
  }
}

// i2v's emulator controls under /_admin/v1 (Akool envelope, admin bearer token).
async function admin(method, path, body) {
  const response = await fetch(`${I2V_URL}/_admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${method} ${path}`);
  const answer = await response.json();
  if (answer.code !== 1000) throw new AdminError(answer.code, answer.msg);
  return answer.data;
}

// A test's own account, with the given lifecycle (none: the server's default).
async function newAccount(lifecycle, credits = 1000) {
  const body = { name: `ci-${randomUUID().slice(0, 8)}`, credits };
  if (lifecycle) body.lifecycle = lifecycle;
  const issued = await admin("POST", "/accounts", body);
  return {
    uid: issued.uid,
    clientId: issued.clientId,
    clientSecret: issued.clientSecret,
    client: new AkoolClient(I2V_URL, { apiKey: issued.clientSecret }),
  };
}

const advanceClock = (uid, body) => admin("POST", `/accounts/${uid}/clock/advance`, body);
const advanceVideo = (id) => admin("POST", `/videos/${id}/advance`);
const seed = async (uid, videos) => (await admin("POST", `/accounts/${uid}/seed`, { videos })).ids;
const setFaults = (uid, rules) => admin("PUT", `/accounts/${uid}/faults`, { rules });
const setWebhookFaults = (uid, rules) =>
  admin("PUT", `/accounts/${uid}/webhook-faults`, { rules });
// The account's journaled Akool requests, oldest first (the API answers newest first).
async function journal(uid, path) {
  const query = new URLSearchParams({ uid, limit: 1000, ...(path && { path }) });
  return (await admin("GET", `/requests?${query}`)).requests.reverse();
}

// Waits (bounded) for work the server does in the background, such as sending a callback.
async function eventually(check, what, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const isMp4 = (bytes) => bytes.subarray(4, 8).toString("latin1") === "ftyp";

test("instant success", async () => {
  const account = await newAccount({ mode: "instant" });
  const created = await account.client.createVideo(IMAGE_URL, "zoom in slowly");
  // Instant mode: the create answer already shows the video completed.
  assert.equal(created.status, 3);

  const video = await account.client.waitUntilFinished(created._id, { intervalMs: 0 });
  assert.ok(video.video_url);
  assert.ok(isMp4(await account.client.download(video)));
  assert.equal(await account.client.credits(), 1000 - PRICE);
});

test("scripted failure shows the reason and refunds", async () => {
  const account = await newAccount({ mode: "instant" });
  const queued = await admin("POST", `/accounts/${account.uid}/outcomes`, {
    outcomes: [{ result: "fail", reason: "face not detected" }, { result: "succeed" }],
  });
  assert.deepEqual(
    queued.outcomes.map((o) => o.result),
    ["fail", "succeed"],
  );

  const first = await account.client.createVideo(IMAGE_URL, "first");
  const failed = await account.client
    .waitUntilFinished(first._id, { intervalMs: 0 })
    .then(() => assert.fail("the video should have failed"))
    .catch((e) => e);
  assert.ok(failed instanceof VideoFailed);
  assert.equal(failed.reason, "face not detected");
  assert.equal(failed.video.deduction_credit, 0);

  const second = await account.client.createVideo(IMAGE_URL, "second");
  assert.equal((await account.client.waitUntilFinished(second._id, { intervalMs: 0 })).status, 3);
  assert.deepEqual(await admin("GET", `/accounts/${account.uid}/outcomes`), { outcomes: [] });
  // Only the successful video was paid for.
  assert.equal(await account.client.credits(), 1000 - PRICE);
});

test("polls mode moves on the Nth poll", async () => {
  const account = await newAccount({ mode: "polls", processing_after: 2, complete_after: 3 });
  const created = await account.client.createVideo(IMAGE_URL, "pan left");
  assert.equal(created.status, 1);

  const seen = [];
  await account.client.waitUntilFinished(created._id, {
    intervalMs: 0,
    onPoll: (v) => seen.push(v.status),
  });
  assert.deepEqual(seen, [1, 2, 3]);
});

test("a stuck video times out, then is advanced", async () => {
  const account = await newAccount({ mode: "instant" });
  await admin("POST", `/accounts/${account.uid}/outcomes`, { outcomes: [{ result: "stuck" }] });
  const created = await account.client.createVideo(IMAGE_URL, "stuck");

  // Ten minutes of the account's clock change nothing: a stuck video stays processing.
  await advanceClock(account.uid, { ms: 10 * 60_000 });
  await assert.rejects(
    account.client.waitUntilFinished(created._id, { intervalMs: 0, maxPolls: 5 }),
    (e) => e instanceof StillProcessing && e.video.status === 2,
  );

  // A processing video cannot be deleted; the client reports the refusal.
  const { deleted, refused } = await account.client.delete([created._id]);
  assert.deepEqual(deleted, []);
  assert.deepEqual(refused, {
    [created._id]: "video resource is processing, please try again later",
  });

  assert.equal((await advanceVideo(created._id)).status, 3);
  assert.equal((await account.client.waitUntilFinished(created._id, { intervalMs: 0 })).status, 3);
});

test("manual mode and a per-video outcome", async () => {
  const account = await newAccount({ mode: "manual" });
  const ok = await account.client.createVideo(IMAGE_URL, "manual ok");
  const bad = await account.client.createVideo(IMAGE_URL, "manual bad");

  assert.deepEqual(await advanceVideo(ok._id), { _id: ok._id, status: 2 });
  assert.deepEqual(await advanceVideo(ok._id), { _id: ok._id, status: 3 });
  await assert.rejects(advanceVideo(ok._id), (e) => e instanceof AdminError && e.code === 1010);

  // This one fails on its second poll, whatever the account's lifecycle says.
  const setTo = await admin("PUT", `/videos/${bad._id}/outcome`, {
    result: "fail",
    reason: "nsfw",
    after_polls: 2,
  });
  assert.equal(setTo.outcome.result, "fail");
  const seen = [];
  await assert.rejects(
    account.client.waitUntilFinished(bad._id, {
      intervalMs: 0,
      onPoll: (v) => seen.push(v.status),
    }),
    (e) => e instanceof VideoFailed && e.reason === "nsfw",
  );
  assert.deepEqual(seen, [2, 4]);
  assert.equal(await account.client.credits(), 1000 - PRICE);
});

test("timed mode follows the account clock", async () => {
  const account = await newAccount({
    mode: "timed",
    processing_after_ms: 10 * 60_000,
    complete_after_ms: 20 * 60_000,
  });
  const created = await account.client.createVideo(IMAGE_URL, "ken burns");
  const status = async () => (await account.client.results([created._id]))[0].status;
  assert.equal(await status(), 1);

  await advanceClock(account.uid, { ms: 15 * 60_000 });
  assert.equal(await status(), 2);

  await advanceClock(account.uid, { to_ms: created.create_time + 25 * 60_000 });
  assert.equal(await status(), 3);
});

test("the link expires after 7 days, on that account only", async () => {
  const aged = await newAccount({ mode: "instant" });
  const other = await newAccount({ mode: "instant" });
  const old = await aged.client.waitUntilFinished(
    (await aged.client.createVideo(IMAGE_URL, "old"))._id,
  );
  const kept = await other.client.waitUntilFinished(
    (await other.client.createVideo(IMAGE_URL, "kept"))._id,
  );

  const clock = await advanceClock(aged.uid, { ms: 8 * DAY_MS });
  assert.equal(clock.offset_ms, 8 * DAY_MS);

  const [expired] = await aged.client.results([old._id]);
  assert.equal(expired.status, 3);
  assert.equal(expired.video_url, undefined);
  assert.equal((await fetch(old.video_url)).status, 404);
  // Another account's clock did not move.
  assert.ok((await other.client.results([kept._id]))[0].video_url);
  assert.ok(isMp4(await other.client.download(kept)));
});

test("a token expires on the account clock", async () => {
  const account = await newAccount({ mode: "instant" });
  const token = await getToken(I2V_URL, account.clientId, account.clientSecret);
  const withToken = new AkoolClient(I2V_URL, { token });
  assert.equal(await withToken.credits(), 1000);

  // Tokens live tokens.ttl_days (400 by default).
  await advanceClock(account.uid, { ms: 401 * DAY_MS });
  await assert.rejects(withToken.credits(), (e) => e instanceof AkoolError && e.code === 1101);
});

test("delete 300 finished videos", async () => {
  const account = await newAccount({ mode: "instant" });
  const ids = await seed(
    account.uid,
    Array.from({ length: 300 }, () => ({ status: 3 })),
  );
  assert.equal(ids.length, 300);
  assert.equal(await account.client.credits(), 1000); // seeded videos cost nothing

  const { deleted, refused } = await account.client.delete(ids);
  assert.deepEqual(deleted, ids);
  assert.deepEqual(refused, {});
  assert.deepEqual(await account.client.results(ids), []);
});

test("a webhook is retried when the clock passes the backoff", async (t) => {
  // Answers the first callback 503 and every later one 200.
  let hits = 0;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      hits += 1;
      response.writeHead(hits === 1 ? 503 : 200).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    receiver.closeAllConnections();
    receiver.close();
  });

  const account = await newAccount({ mode: "manual" });
  const url = `http://127.0.0.1:${receiver.address().port}/akool`;
  const created = await account.client.createVideo(IMAGE_URL, "webhook", { webhookUrl: url });
  await advanceVideo(created._id); // 1 -> 2: a status-2 callback is due

  const delivery = async () =>
    (await admin("GET", `/webhooks?video_id=${created._id}`)).result.find(
      (d) => d.video_status === 2,
    );
  const first = await eventually(async () => {
    const d = await delivery();
    return d?.attempts === 1 && d;
  }, "the first attempt");
  assert.equal(first.state, "pending");

  // The first retry is due 3 minutes (+-20%) later on the account's clock.
  await advanceClock(account.uid, { ms: 4 * 60_000 });
  const done = await eventually(async () => {
    const d = await delivery();
    return d?.state === "delivered" && d;
  }, "the retry");
  assert.equal(done.attempts, 2);
  const statuses = [...done.attempt_log]
    .sort((a, b) => a.attempt - b.attempt)
    .map((a) => a.http_status);
  assert.deepEqual(statuses, [503, 200]);
  assert.equal(hits, 2);
});

test("webhook faults: a duplicate is handled once and a stale callback refused", async (t) => {
  // A careful callback handler: it checks each callback's signature (SHA-1 over the sorted
  // clientId, timestamp, nonce and dataEncrypt) and age, refuses what fails (401), and handles a
  // callback it has already handled only once (a repeat is answered 200 and skipped).
  const account = await newAccount({ mode: "manual" });
  const seen = new Set();
  const handled = [];
  const rejected = [];
  let repeats = 0;
  const receiver = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      const body = JSON.parse(text);
      const parts = [account.clientId, String(body.timestamp), body.nonce, body.dataEncrypt];
      const expected = createHash("sha1").update(parts.sort().join("")).digest("hex");
      const fresh = Math.abs(Date.now() - body.timestamp) < 5 * 60_000;
      let status = 200;
      if (expected !== body.signature || !fresh) {
        rejected.push(body);
        status = 401;
      } else if (seen.has(body.signature)) {
        repeats += 1;
      } else {
        seen.add(body.signature);
        handled.push(body);
      }
      response.writeHead(status).end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    receiver.closeAllConnections();
    receiver.close();
  });

  await setWebhookFaults(account.uid, [
    { status: 2, next: 1, effect: "duplicate" },
    { status: 3, next: 1, effect: "stale_timestamp" },
  ]);
  const url = `http://127.0.0.1:${receiver.address().port}/akool`;
  const created = await account.client.createVideo(IMAGE_URL, "webhook faults", {
    webhookUrl: url,
  });

  await advanceVideo(created._id); // 1 -> 2: its callback is sent twice
  await eventually(() => repeats === 1, "the duplicate");
  assert.equal(handled.length, 1);

  await advanceVideo(created._id); // 2 -> 3: signed over a timestamp an hour old
  await eventually(() => rejected.length === 1, "the stale callback");
  assert.ok(Date.now() - rejected[0].timestamp > 50 * 60_000);
  const deliveries = (await admin("GET", `/webhooks?video_id=${created._id}`)).result;
  const faults = Object.fromEntries(deliveries.map((d) => [d.video_status, d.fault]));
  assert.deepEqual(faults, { 2: "duplicate", 3: "stale_timestamp" });
});

test("reset puts the account back", async () => {
  const defaultLifecycle = await admin("GET", `/accounts/${(await newAccount()).uid}/lifecycle`);
  const account = await newAccount({ mode: "instant" });
  const seeded = await seed(
    account.uid,
    [1, 2, 3, 4].map((status) => ({ status })),
  );
  const created = await account.client.createVideo(IMAGE_URL, "reset me");
  await advanceClock(account.uid, { ms: DAY_MS });
  assert.equal(await account.client.credits(), 1000 - PRICE);

  const reset = await admin("POST", `/accounts/${account.uid}/reset`);
  assert.deepEqual(reset, { uid: account.uid, videos_removed: 5, credits: 1000 });
  assert.deepEqual(await account.client.results([...seeded, created._id]), []);
  assert.equal(await account.client.credits(), 1000);
  assert.deepEqual(await admin("GET", `/accounts/${account.uid}/lifecycle`), defaultLifecycle);
  assert.equal((await admin("GET", `/accounts/${account.uid}/clock`)).offset_ms, 0);
});

test("a bad lifecycle names the field", async () => {
  const account = await newAccount({ mode: "instant" });
  await assert.rejects(
    admin("PUT", `/accounts/${account.uid}/lifecycle`, {
      mode: "polls",
      processing_after: 0,
      complete_after: 1,
    }),
    (e) => e instanceof AdminError && e.code === 1003 && e.msg.includes("processing_after"),
  );
});

const DELBYIDS = "/api/open/v4/image2Video/delbyids";
const RESULTS = "/api/open/v4/image2Video/resultsByIds";
const sorted = (ids) => [...ids].sort();

test("the journal shows what a cleanup deleted", async () => {
  const account = await newAccount({ mode: "instant" });
  const ids = await seed(
    account.uid,
    Array.from({ length: 150 }, () => ({ status: 3 })),
  );
  const token = await getToken(I2V_URL, account.clientId, account.clientSecret);

  const { deleted, refused } = await account.client.delete(ids);
  assert.deepEqual(sorted(deleted), sorted(ids));
  assert.deepEqual(refused, {});

  const calls = await journal(account.uid, DELBYIDS);
  const batches = calls.map((call) => call.request_body._ids.split(","));
  assert.ok(batches.every((batch) => batch.length <= 100));
  assert.deepEqual(batches.flat(), ids); // each id once, none other
  assert.ok(calls.every((call) => call.status === 200 && call.code === 1000));

  // Keys, secrets and tokens never reach the journal, wherever they were sent.
  const everything = JSON.stringify(await journal(account.uid));
  assert.ok(!everything.includes(account.clientSecret));
  assert.ok(!everything.includes(token));
  const [getTokenCall] = await journal(account.uid, "/api/open/v3/getToken");
  assert.equal(getTokenCall.request_body.clientSecret, "[redacted]");
});

test("a lost delete answer is retried until the ids are gone", async () => {
  const account = await newAccount({ mode: "instant" });
  const ids = await seed(account.uid, [{ status: 3 }, { status: 3 }, { status: 3 }]);
  // The first delbyids is applied, then the connection closes without an answer.
  await setFaults(account.uid, [{ route: "delbyids", next: 1, effect: { drop: "after" } }]);

  const { deleted, refused } = await account.client.delete(ids);
  assert.deepEqual(sorted(deleted), sorted(ids));
  assert.deepEqual(refused, {});
  assert.deepEqual(await account.client.results(ids), []);

  const [lost, retried] = await journal(account.uid, DELBYIDS);
  assert.deepEqual(lost.fault, { drop: "after" });
  assert.deepEqual(sorted(lost.response_body.data.successIds), sorted(ids)); // never sent
  assert.equal(retried.fault, null);
  assert.deepEqual(
    new Set(retried.response_body.data.noPermissionItems.map((item) => item.msg)),
    new Set(["video resource not found"]),
  );
});

test("a 503 is retried after Retry-After", async () => {
  const account = await newAccount({ mode: "instant" });
  const created = await account.client.createVideo(IMAGE_URL, "busy gateway");
  await setFaults(account.uid, [
    { route: "resultsByIds", next: 1, effect: { http_status: 503, retry_after_s: 1 } },
  ]);
  const waits = [];
  account.client.sleep = async (ms) => waits.push(ms);

  const [video] = await account.client.results([created._id]);
  assert.equal(video.status, 3);
  assert.deepEqual(waits, [1000]);

  const [busy, answered] = await journal(account.uid, RESULTS);
  assert.deepEqual([busy.status, busy.response_body.code], [503, 503]);
  assert.deepEqual(busy.fault, { http_status: 503, retry_after_s: 1 });
  assert.deepEqual([answered.status, answered.code], [200, 1000]);
  assert.equal((await admin("GET", `/accounts/${account.uid}/faults`)).rules[0].next, 0);
});
