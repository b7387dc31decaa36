"""The "client under test": a small Akool image-to-video client such as an app would have.

It knows nothing of i2v. The tests in test_akool_client.py point it at an i2v server and use
i2v's admin controls to put its videos into the states the client must handle.
"""

import time

import requests

# Akool's delbyids and resultsByIds take at most this many ids per call.
IDS_PER_CALL = 100


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
    def __init__(self, base_url, api_key=None, token=None, timeout=30):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        elif api_key:
            self.session.headers["x-api-key"] = api_key

    def _call(self, method, path, body=None):
        response = self.session.request(
            method, self.base_url + path, json=body, timeout=self.timeout
        )
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
        return self._call("POST", "/api/open/v4/image2Video/createBySourcePrompt", body)["data"]

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
        """Deletes in batches of at most 100 ids; returns (deleted ids, {id: refusal message})."""
        deleted, refused = [], {}
        for batch in _batches(ids):
            answer = self._call(
                "POST", "/api/open/v4/image2Video/delbyids", {"_ids": ",".join(batch)}
            )
            deleted.extend(answer["data"]["successIds"])
            for item in answer["data"]["noPermissionItems"]:
                refused[item["_id"]] = item["msg"]
        return deleted, refused

    def download(self, video):
        response = self.session.get(video["video_url"], timeout=self.timeout)
        response.raise_for_status()
        return response.content


def _batches(ids):
    ids = list(ids)
    for start in range(0, len(ids), IDS_PER_CALL):
        yield ids[start : start + IDS_PER_CALL]
