// The "client under test": a small Akool image-to-video client such as an app would have. It
// knows nothing of i2v; client.test.mjs points it at an i2v server and uses i2v's admin controls
// to put its videos into the states the client must handle. Node 20, no dependencies.

// Akool's delbyids and resultsByIds take at most this many ids per call.
export const IDS_PER_CALL = 100;
// Gateway answers that mean "not applied, try again later"; only safe calls are retried.
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
// Without a Retry-After header, wait this long before the next attempt.
const DEFAULT_RETRY_AFTER_S = 1;
// The msg delbyids gives an id that is not (or no longer) there.
export const NOT_FOUND = "video resource not found";

export class AkoolError extends Error {
  constructor(code, msg) {
    super(`Akool error ${code}: ${msg}`);
    this.code = code;
    this.msg = msg;
  }
}

export class VideoFailed extends Error {
  constructor(video) {
    super(`video ${video._id} failed: ${video.error_reason}`);
    this.video = video;
    this.reason = video.error_reason;
  }
}

export class StillProcessing extends Error {
  constructor(video) {
    super(`video ${video._id} is still in status ${video.status}`);
    this.video = video;
  }
}

export class HttpError extends Error {
  constructor(status, url) {
    super(`HTTP ${status} from ${url}`);
    this.status = status;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fetchJson(url, { method = "POST", headers = {}, body } = {}) {
  return fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
}

async function answerOf(response) {
  // Akool answers business errors with HTTP 200 and a `code`.
  if (!response.ok) throw new HttpError(response.status, response.url);
  const answer = await response.json();
  if (answer.code !== 1000) throw new AkoolError(answer.code, answer.msg);
  return answer;
}

// fetch rejects with a TypeError when no answer came (the connection closed or was refused).
const isLostAnswer = (error) => error instanceof TypeError;

function* batches(ids) {
  for (let start = 0; start < ids.length; start += IDS_PER_CALL) {
    yield ids.slice(start, start + IDS_PER_CALL);
  }
}

export async function getToken(baseUrl, clientId, clientSecret) {
  const response = await fetchJson(`${baseUrl}/api/open/v3/getToken`, {
    body: { clientId, clientSecret },
  });
  return (await answerOf(response)).token;
}

export class AkoolClient {
  // `attempts`: tries per call that may be retried (reads and deletes). `sleep` is replaceable
  // so that a test can see the waits without waiting.
  constructor(baseUrl, { apiKey, token, attempts = 3, sleep: wait = sleep } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.auth = token ? { authorization: `Bearer ${token}` } : { "x-api-key": apiKey };
    this.attempts = attempts;
    this.sleep = wait;
  }

  // One API call; when `retry`, an overloaded gateway's answer (429, 502, 503, 504) is retried
  // after its Retry-After. Creating is not retried: a second create is a second video.
  async #call(path, method, body, { retry = true } = {}) {
    for (let attempt = 1; ; attempt++) {
      const response = await fetchJson(this.baseUrl + path, { method, headers: this.auth, body });
      if (!(retry && RETRY_STATUSES.has(response.status) && attempt < this.attempts)) {
        return answerOf(response);
      }
      await response.body?.cancel();
      const seconds = Number(response.headers.get("retry-after") ?? DEFAULT_RETRY_AFTER_S);
      await this.sleep(seconds * 1000);
    }
  }

  async credits() {
    return (await this.#call("/api/open/v3/faceswap/quota/info", "GET")).data.credit;
  }

  async createVideo(imageUrl, prompt, { resolution = "720p", videoLength = 5, webhookUrl } = {}) {
    const body = {
      image_url: imageUrl,
      prompt,
      negative_prompt: "",
      resolution,
      audio_type: 3,
      video_length: videoLength,
    };
    if (webhookUrl) body.webhookurl = webhookUrl;
    const path = "/api/open/v4/image2Video/createBySourcePrompt";
    return (await this.#call(path, "POST", body, { retry: false })).data;
  }

  // The caller's videos among `ids`, in order; unknown and deleted ids are left out.
  async results(ids) {
    const found = [];
    for (const batch of batches(ids)) {
      const answer = await this.#call("/api/open/v4/image2Video/resultsByIds", "POST", {
        _ids: batch.join(","),
      });
      found.push(...answer.data.result);
    }
    return found;
  }

  // Polls until the video is completed (returned) or failed (VideoFailed thrown); gives up with
  // StillProcessing after `maxPolls` polls. `onPoll` sees every answer.
  async waitUntilFinished(id, { intervalMs = 2000, maxPolls = 300, onPoll } = {}) {
    let video;
    for (let poll = 0; poll < maxPolls; poll++) {
      [video] = await this.results([id]);
      onPoll?.(video);
      if (video.status === 3) return video;
      if (video.status === 4) throw new VideoFailed(video);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    throw new StillProcessing(video);
  }

  // Deletes in batches of at most 100 ids; returns { deleted: [ids], refused: {id: message} }.
  // A batch whose answer is lost (the connection dropped) is sent again. The lost attempt may
  // have deleted the videos, so on the retry "video resource not found" means deleted.
  async delete(ids) {
    const deleted = [];
    const refused = {};
    for (const batch of batches(ids)) {
      const answer = await this.#deleteBatch(batch);
      deleted.push(...answer.data.successIds);
      for (const item of answer.data.noPermissionItems) {
        if (item.msg === NOT_FOUND) deleted.push(item._id);
        else refused[item._id] = item.msg;
      }
    }
    return { deleted, refused };
  }

  async #deleteBatch(batch) {
    const body = { _ids: batch.join(",") };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#call("/api/open/v4/image2Video/delbyids", "POST", body);
      } catch (error) {
        // The answer was lost, not necessarily the delete: ask again.
        if (!isLostAnswer(error) || attempt === this.attempts) throw error;
      }
    }
  }

  async download(video) {
    const response = await fetch(video.video_url, {
      headers: this.auth,
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${video.video_url}`);
    return Buffer.from(await response.arrayBuffer());
  }
}
