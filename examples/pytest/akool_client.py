"""The "client under test": a small Akool image-to-video client such as an app would have.

It knows nothing of i2v. The tests in test_akool_client.py point it at an i2v server and use
i2v's admin controls to put its videos into the states the client must handle.
"""

import time

import requests

# Akool's delbyids and resultsByIds take at most this many ids per call.
IDS_PER_CALL = 100
# Gateway answers that mean "not applied, try again later"; only safe calls are retried.
RETRY_STATUSES = {429, 502, 503, 504}
# Without a Retry-After header, wait this long before the next attempt.
DEFAULT_RETRY_AFTER_S = 1.0
# The msg delbyids gives an id that is not (or no longer) there.
NOT_FOUND = "video resource not found"


class AkoolError(Exception):
    """An answer whose `code` is not 1000."""

    def __init__(self, code, msg):
        super().__init__(f"Akool error {code}: {msg}")
        self.code = code
        self.msg = msg


class VideoFailed(Exception):
    """The video ended in status 4."""

    def __init__(self, video):
        super().__init__(f"video {video['_id']} failed: {video.get('error_reason')}")
        self.video = video
        self.reason = video.get("error_reason")


class StillProcessing(Exception):
    """The video had not finished after the polls the caller allowed."""

    def __init__(self, video):
        super().__init__(f"video {video['_id']} is still in status {video['status']}")
        self.video = video


class AkoolClient:
    def __init__(self, base_url, api_key=None, token=None, timeout=30, attempts=3):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        # Tries per call that may be retried (reads and deletes).
        self.attempts = attempts
        # Replaceable so that a test can see the waits without waiting.
        self.sleep = time.sleep
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif api_key:
            self.session.headers["x-api-key"] = api_key

    def _call(self, method, path, body=None, retry=True):
        """One API call; when `retry`, an overloaded gateway's answer (429, 502, 503, 504) is
        retried after its Retry-After. Creating is not retried: a second create is a second
        video."""
        for attempt in range(1, self.attempts + 1):
            response = self.session.request(
                method, self.base_url + path, json=body, timeout=self.timeout
            )
            if not (retry and response.status_code in RETRY_STATUSES and attempt < self.attempts):
                break
            self.sleep(float(response.headers.get("Retry-After", DEFAULT_RETRY_AFTER_S)))
        # Akool answers business errors with HTTP 200 and a `code`.
        response.raise_for_status()
        answer = response.json()
        if answer.get("code") != 1000:
            raise AkoolError(answer.get("code"), answer.get("msg"))
        return answer

    @staticmethod
    def get_token(base_url, client_id, client_secret, timeout=30):
        response = requests.post(
            base_url.rstrip("/") + "/api/open/v3/getToken",
            json={"clientId": client_id, "clientSecret": client_secret},
            timeout=timeout,
        )
        response.raise_for_status()
        answer = response.json()
        if answer.get("code") != 1000:
            raise AkoolError(answer.get("code"), answer.get("msg"))
        return answer["token"]

    def credits(self):
        return self._call("GET", "/api/open/v3/faceswap/quota/info")["data"]["credit"]

    def create_video(self, image_url, prompt, resolution="720p", video_length=5, webhook_url=None):
        body = {
            "image_url": image_url,
            "prompt": prompt,
            "negative_prompt": "",
            "resolution": resolution,
            "audio_type": 3,
            "video_length": video_length,
        }
        if webhook_url:
            body["webhookurl"] = webhook_url
        path = "/api/open/v4/image2Video/createBySourcePrompt"
        return self._call("POST", path, body, retry=False)["data"]

    def results(self, ids):
        """The caller's videos among `ids`, in order; unknown and deleted ids are left out."""
        found = []
        for batch in _batches(ids):
            answer = self._call(
                "POST", "/api/open/v4/image2Video/resultsByIds", {"_ids": ",".join(batch)}
            )
            found.extend(answer["data"]["result"])
        return found

    def wait_until_finished(self, video_id, interval=2.0, max_polls=300, on_poll=None):
        """Polls until the video is completed (returned) or failed (VideoFailed raised).

        Gives up with StillProcessing after `max_polls` polls; `on_poll` sees every answer.
        """
        video = None
        for _ in range(max_polls):
            [video] = self.results([video_id])
            if on_poll:
                on_poll(video)
            if video["status"] == 3:
                return video
            if video["status"] == 4:
                raise VideoFailed(video)
            time.sleep(interval)
        raise StillProcessing(video)

    def delete(self, ids):
        """Deletes in batches of at most 100 ids; returns (deleted ids, {id: refusal message}).

        A batch whose answer is lost (the connection dropped) is sent again. The lost attempt may
        have deleted the videos, so on the retry "video resource not found" means deleted.
        """
        deleted, refused = [], {}
        for batch in _batches(ids):
            answer = self._delete_batch(batch)
            deleted.extend(answer["data"]["successIds"])
            for item in answer["data"]["noPermissionItems"]:
                if item["msg"] == NOT_FOUND:
                    deleted.append(item["_id"])
                else:
                    refused[item["_id"]] = item["msg"]
        return deleted, refused

    def _delete_batch(self, batch):
        path, body = "/api/open/v4/image2Video/delbyids", {"_ids": ",".join(batch)}
        for _ in range(self.attempts - 1):
            try:
                return self._call("POST", path, body)
            except requests.ConnectionError:
                pass  # the answer was lost, not necessarily the delete: ask again
        return self._call("POST", path, body)

    def download(self, video):
        response = self.session.get(video["video_url"], timeout=self.timeout)
        response.raise_for_status()
        return response.content


def _batches(ids):
    ids = list(ids)
    for start in range(0, len(ids), IDS_PER_CALL):
        yield ids[start : start + IDS_PER_CALL]
