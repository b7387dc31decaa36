// The "client under test": a small Akool image-to-video client such as an app would have. It
// knows nothing of i2v; client.test.mjs points it at an i2v server and uses i2v's admin controls
// to put its videos into the states the client must handle. Node 20, no dependencies.

// Akool's delbyids and resultsByIds take at most this many ids per call.
export const IDS_PER_CALL = 100;

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

async function call(url, { method = "POST", headers = {}, body } = {}) {
  const response = await fetch(url, {
    method,
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  // Akool answers business errors with HTTP 200 and a `code`.
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${url}`);
  const answer = await response.json();
  if (answer.code !== 1000) throw new AkoolError(answer.code, answer.msg);
  return answer;
}

function* batches(ids) {
  for (let start = 0; start < ids.length; start += IDS_PER_CALL) {
    yield ids.slice(start, start + IDS_PER_CALL);
  }
}

export async function getToken(baseUrl, clientId, clientSecret) {
  const answer = await call(`${baseUrl}/api/open/v3/getToken`, {
    body: { clientId, clientSecret },
  });
  return answer.token;
}

export class AkoolClient {
  constructor(baseUrl, { apiKey, token } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.auth = token ? { authorization: `Bearer ${token}` } : { "x-api-key": apiKey };
  }

  async #call(path, method, body) {
    return call(this.baseUrl + path, { method, headers: this.auth, body });
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
    return (await this.#call("/api/open/v4/image2Video/createBySourcePrompt", "POST", body)).data;
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
  async delete(ids) {
    const deleted = [];
    const refused = {};
    for (const batch of batches(ids)) {
      const answer = await this.#call("/api/open/v4/image2Video/delbyids", "POST", {
        _ids: batch.join(","),
      });
      deleted.push(...answer.data.successIds);
      for (const item of answer.data.noPermissionItems) refused[item._id] = item.msg;
    }
    return { deleted, refused };
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
