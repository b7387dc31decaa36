"""Tests of akool_client.py against i2v, each path put in place with i2v's admin controls.

Every test creates its own account, so the tests never disturb one another (nor other CI jobs
sharing the server). No test sleeps for the server: the account's clock is moved instead.
"""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from akool_client import AkoolClient, AkoolError, StillProcessing, VideoFailed
from conftest import AdminError

DAY_MS = 86_400_000
# 720p, 5 s: 4 credits a second.
PRICE = 20


def test_instant_success(new_account, image_url):
    account = new_account({"mode": "instant"})
    created = account.client.create_video(image_url, "zoom in slowly")
    # Instant mode: the create answer already shows the video completed.
    assert created["status"] == 3

    video = account.client.wait_until_finished(created["_id"], interval=0)
    assert video["video_url"]
    mp4 = account.client.download(video)
    assert mp4[4:8] == b"ftyp"
    assert account.client.credits() == 1000 - PRICE


def test_scripted_failure_shows_the_reason_and_refunds(new_account, admin, image_url):
    account = new_account({"mode": "instant"})
    queued = admin.add_outcomes(
        account.uid, {"result": "fail", "reason": "face not detected"}, {"result": "succeed"}
    )
    assert [o["result"] for o in queued["outcomes"]] == ["fail", "succeed"]

    first = account.client.create_video(image_url, "first")
    with pytest.raises(VideoFailed) as failed:
        account.client.wait_until_finished(first["_id"], interval=0)
    assert failed.value.reason == "face not detected"
    assert failed.value.video["deduction_credit"] == 0

    second = account.client.create_video(image_url, "second")
    assert account.client.wait_until_finished(second["_id"], interval=0)["status"] == 3
    assert admin.call("GET", f"/accounts/{account.uid}/outcomes") == {"outcomes": []}
    # Only the successful video was paid for.
    assert account.client.credits() == 1000 - PRICE


def test_polls_mode_moves_on_the_nth_poll(new_account, image_url):
    account = new_account({"mode": "polls", "processing_after": 2, "complete_after": 3})
    created = account.client.create_video(image_url, "pan left")
    assert created["status"] == 1

    seen = []
    account.client.wait_until_finished(
        created["_id"], interval=0, on_poll=lambda v: seen.append(v["status"])
    )
    assert seen == [1, 2, 3]


def test_stuck_video_times_out_then_is_advanced(new_account, admin, image_url):
    account = new_account({"mode": "instant"})
    admin.add_outcomes(account.uid, {"result": "stuck"})
    created = account.client.create_video(image_url, "stuck")

    # Ten minutes of the account's clock change nothing: a stuck video stays processing.
    admin.advance_clock(account.uid, ms=10 * 60_000)
    with pytest.raises(StillProcessing) as still:
        account.client.wait_until_finished(created["_id"], interval=0, max_polls=5)
    assert still.value.video["status"] == 2

    # A processing video cannot be deleted; the client reports the refusal.
    deleted, refused = account.client.delete([created["_id"]])
    assert deleted == []
    assert refused == {created["_id"]: "video resource is processing, please try again later"}

    assert admin.advance_video(created["_id"])["status"] == 3
    assert account.client.wait_until_finished(created["_id"], interval=0)["status"] == 3


def test_manual_mode_and_a_per_video_outcome(new_account, admin, image_url):
    account = new_account({"mode": "manual"})
    ok = account.client.create_video(image_url, "manual ok")
    bad = account.client.create_video(image_url, "manual bad")

    assert admin.advance_video(ok["_id"]) == {"_id": ok["_id"], "status": 2}
    assert admin.advance_video(ok["_id"]) == {"_id": ok["_id"], "status": 3}
    with pytest.raises(AdminError) as finished:
        admin.advance_video(ok["_id"])
    assert finished.value.code == 1010

    # This one fails on its second poll, whatever the account's lifecycle says.
    set_to = admin.set_outcome(bad["_id"], {"result": "fail", "reason": "nsfw", "after_polls": 2})
    assert set_to["outcome"]["result"] == "fail"
    seen = []
    with pytest.raises(VideoFailed) as failed:
        account.client.wait_until_finished(
            bad["_id"], interval=0, on_poll=lambda v: seen.append(v["status"])
        )
    assert seen == [2, 4]
    assert failed.value.reason == "nsfw"
    assert account.client.credits() == 1000 - PRICE


def test_timed_mode_follows_the_account_clock(new_account, admin, image_url):
    account = new_account(
        {"mode": "timed", "processing_after_ms": 10 * 60_000, "complete_after_ms": 20 * 60_000}
    )
    created = account.client.create_video(image_url, "ken burns")
    [video] = account.client.results([created["_id"]])
    assert video["status"] == 1

    admin.advance_clock(account.uid, ms=15 * 60_000)
    assert account.client.results([created["_id"]])[0]["status"] == 2

    admin.advance_clock(account.uid, to_ms=created["create_time"] + 25 * 60_000)
    assert account.client.results([created["_id"]])[0]["status"] == 3


def test_link_expires_after_seven_days_on_that_account_only(new_account, admin, image_url):
    aged = new_account({"mode": "instant"})
    other = new_account({"mode": "instant"})
    old = aged.client.wait_until_finished(aged.client.create_video(image_url, "old")["_id"])
    kept = other.client.wait_until_finished(other.client.create_video(image_url, "kept")["_id"])

    clock = admin.advance_clock(aged.uid, ms=8 * DAY_MS)
    assert clock["offset_ms"] == 8 * DAY_MS

    [expired] = aged.client.results([old["_id"]])
    assert expired["status"] == 3
    assert "video_url" not in expired
    assert requests.get(old["video_url"], timeout=30).status_code == 404
    # Another account's clock did not move.
    assert other.client.results([kept["_id"]])[0]["video_url"]
    assert other.client.download(kept)[4:8] == b"ftyp"


def test_token_expires_on_the_account_clock(i2v_url, new_account, admin):
    account = new_account({"mode": "instant"})
    token = AkoolClient.get_token(i2v_url, account.client_id, account.client_secret)
    with_token = AkoolClient(i2v_url, token=token)
    assert with_token.credits() == 1000

    # Tokens live tokens.ttl_days (400 by default).
    admin.advance_clock(account.uid, ms=401 * DAY_MS)
    with pytest.raises(AkoolError) as expired:
        with_token.credits()
    assert expired.value.code == 1101


def test_delete_300_finished_videos(new_account, admin):
    account = new_account({"mode": "instant"})
    ids = admin.seed(account.uid, [{"status": 3} for _ in range(300)])
    assert len(ids) == 300
    assert account.client.credits() == 1000  # seeded videos cost nothing

    deleted, refused = account.client.delete(ids)
    assert deleted == ids
    assert refused == {}
    assert account.client.results(ids) == []


class FlakyReceiver(BaseHTTPRequestHandler):
    """Answers the first callback 503 and every later one 200."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.server.hits += 1
        self.send_response(503 if self.server.hits == 1 else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyReceiver)
    server.hits = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def eventually(check, what, seconds=60):
    """Waits (bounded) for work the server does in the background, such as sending a callback."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_webhook_is_retried_when_the_clock_passes_the_backoff(
    new_account, admin, image_url, receiver
):
    account = new_account({"mode": "manual"})
    url = f"http://127.0.0.1:{receiver.server_address[1]}/akool"
    created = account.client.create_video(image_url, "webhook", webhook_url=url)
    admin.advance_video(created["_id"])  # 1 -> 2: a status-2 callback is due

    def delivery():
        found = [d for d in admin.webhooks(created["_id"]) if d["video_status"] == 2]
        return found[0] if found else None

    first = eventually(lambda: (d := delivery()) and d["attempts"] == 1 and d, "the first attempt")
    assert first["state"] == "pending"

    # The first retry is due 3 minutes (+-20%) later on the account's clock.
    admin.advance_clock(account.uid, ms=4 * 60_000)
    done = eventually(lambda: (d := delivery()) and d["state"] == "delivered" and d, "the retry")
    assert done["attempts"] == 2
    statuses = [a["http_status"] for a in sorted(done["attempt_log"], key=lambda a: a["attempt"])]
    assert statuses == [503, 200]
    assert receiver.hits == 2


class VerifyingReceiver(BaseHTTPRequestHandler):
    """A careful callback handler: it checks each callback's signature (SHA-1 over the sorted
    clientId, timestamp, nonce and dataEncrypt) and age, refuses what fails (401), and handles a
    callback it has already handled only once (a repeat is answered 200 and skipped)."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        server = self.server
        parts = sorted([server.client_id, str(body["timestamp"]), body["nonce"], body["dataEncrypt"]])
        signed = hashlib.sha1("".join(parts).encode()).hexdigest() == body["signature"]
        fresh = abs(time.time() * 1000 - body["timestamp"]) < 5 * 60_000
        with server.lock:
            if not (signed and fresh):
                server.rejected.append(body)
                status = 401
            elif body["signature"] in server.seen:
                server.repeats += 1
                status = 200
            else:
                server.seen.add(body["signature"])
                server.handled.append(body)
                status = 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def verifying_receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), VerifyingReceiver)
    server.lock = threading.Lock()
    server.client_id, server.seen, server.handled, server.rejected, server.repeats = "", set(), [], [], 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_webhook_faults_a_duplicate_is_handled_once_and_a_stale_one_refused(
    new_account, admin, image_url, verifying_receiver
):
    account = new_account({"mode": "manual"})
    verifying_receiver.client_id = account.client_id
    admin.set_webhook_faults(
        account.uid,
        [
            {"status": 2, "next": 1, "effect": "duplicate"},
            {"status": 3, "next": 1, "effect": "stale_timestamp"},
        ],
    )
    url = f"http://127.0.0.1:{verifying_receiver.server_address[1]}/akool"
    created = account.client.create_video(image_url, "webhook faults", webhook_url=url)

    admin.advance_video(created["_id"])  # 1 -> 2: its callback is sent twice
    eventually(lambda: verifying_receiver.repeats == 1, "the duplicate")
    assert len(verifying_receiver.handled) == 1

    admin.advance_video(created["_id"])  # 2 -> 3: signed over a timestamp an hour old
    eventually(lambda: len(verifying_receiver.rejected) == 1, "the stale callback")
    stale = verifying_receiver.rejected[0]
    assert time.time() * 1000 - stale["timestamp"] > 50 * 60_000
    faults = {d["video_status"]: d["fault"] for d in admin.webhooks(created["_id"])}
    assert faults == {2: "duplicate", 3: "stale_timestamp"}


def test_reset_puts_the_account_back(new_account, admin, image_url):
    default = admin.lifecycle(new_account(None).uid)
    account = new_account({"mode": "instant"})
    seeded = admin.seed(account.uid, [{"status": s} for s in (1, 2, 3, 4)])
    created = account.client.create_video(image_url, "reset me")
    admin.advance_clock(account.uid, ms=DAY_MS)
    assert account.client.credits() == 1000 - PRICE

    reset = admin.reset(account.uid)
    assert reset == {"uid": account.uid, "videos_removed": 5, "credits": 1000}
    assert account.client.results(seeded + [created["_id"]]) == []
    assert account.client.credits() == 1000
    assert admin.lifecycle(account.uid) == default
    assert admin.clock(account.uid)["offset_ms"] == 0


def test_bad_lifecycle_names_the_field(new_account, admin):
    account = new_account({"mode": "instant"})
    with pytest.raises(AdminError) as bad:
        admin.set_lifecycle(
            account.uid, {"mode": "polls", "processing_after": 0, "complete_after": 1}
        )
    assert bad.value.code == 1003
    assert "processing_after" in bad.value.msg


DELBYIDS = "/api/open/v4/image2Video/delbyids"
RESULTS = "/api/open/v4/image2Video/resultsByIds"


def test_journal_shows_what_a_cleanup_deleted(i2v_url, new_account, admin):
    account = new_account({"mode": "instant"})
    ids = admin.seed(account.uid, [{"status": 3} for _ in range(150)])
    token = AkoolClient.get_token(i2v_url, account.client_id, account.client_secret)

    deleted, refused = account.client.delete(ids)
    assert sorted(deleted) == sorted(ids) and refused == {}

    calls = admin.requests(account.uid, path=DELBYIDS)
    batches = [call["request_body"]["_ids"].split(",") for call in calls]
    assert all(len(batch) <= 100 for batch in batches)
    assert [i for batch in batches for i in batch] == ids  # each id once, none other
    assert all(call["status"] == 200 and call["code"] == 1000 for call in calls)

    # Keys, secrets and tokens never reach the journal, wherever they were sent.
    journal = json.dumps(admin.requests(account.uid))
    assert account.client_secret not in journal and token not in journal
    [get_token] = admin.requests(account.uid, path="/api/open/v3/getToken")
    assert get_token["request_body"]["clientSecret"] == "[redacted]"


def test_a_lost_delete_answer_is_retried_until_the_ids_are_gone(new_account, admin):
    account = new_account({"mode": "instant"})
    ids = admin.seed(account.uid, [{"status": 3} for _ in range(3)])
    # The first delbyids is applied, then the connection closes without an answer.
    admin.set_faults(account.uid, [{"route": "delbyids", "next": 1, "effect": {"drop": "after"}}])

    deleted, refused = account.client.delete(ids)
    assert sorted(deleted) == sorted(ids) and refused == {}
    assert account.client.results(ids) == []

    lost, retried = admin.requests(account.uid, path=DELBYIDS)
    assert lost["fault"] == {"drop": "after"}
    assert sorted(lost["response_body"]["data"]["successIds"]) == sorted(ids)  # never sent
    assert retried["fault"] is None
    assert {item["msg"] for item in retried["response_body"]["data"]["noPermissionItems"]} == {
        "video resource not found"
    }


def test_a_503_is_retried_after_retry_after(new_account, admin, image_url):
    account = new_account({"mode": "instant"})
    created = account.client.create_video(image_url, "busy gateway")
    admin.set_faults(
        account.uid,
        [{"route": "resultsByIds", "next": 1, "effect": {"http_status": 503, "retry_after_s": 1}}],
    )
    waits = []
    account.client.sleep = waits.append

    [video] = account.client.results([created["_id"]])
    assert video["status"] == 3
    assert waits == [1.0]

    busy, answered = admin.requests(account.uid, path=RESULTS)
    assert (busy["status"], busy["response_body"]["code"]) == (503, 503)
    assert busy["fault"] == {"http_status": 503, "retry_after_s": 1}
    assert (answered["status"], answered["code"]) == (200, 1000)
    assert admin.call("GET", f"/accounts/{account.uid}/faults")["rules"][0]["next"] == 0
