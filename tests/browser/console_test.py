#!/usr/bin/env python3
"""The web console in a real browser: Playwright (Python) driving the system Chromium against a
real `i2v serve` (real workers, real ffmpeg renders), on 127.0.0.1 only.

Usage: tests/browser/console_test.py [--i2v target/debug/i2v] [--screenshots docs/screenshots]

Needs: `pip install playwright` (the package only; never `playwright install`) and Chromium at
/usr/bin/chromium (`apt-get install -y chromium`); scripts/test and .ci/run provide both.
Exits non-zero on the first failed check, printing what was expected.
"""
import argparse
import http.server
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib

ADMIN_TOKEN = "browser-test-admin-token-0123"
CHROMIUM = os.environ.get("I2V_CHROMIUM", "/usr/bin/chromium")
# Chromium's own network features are refused on these machines; these flags keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def png(width, height):
    """A gradient PNG, written with the standard library."""
    rows = b"".join(
        b"\x00" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, 120))
        for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def serve_image():
    image = png(640, 360)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("content-type", "image/png")
            self.send_header("content-length", str(len(image)))
            self.end_headers()
            self.wfile.write(image)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/photo.png"


class I2v:
    def __init__(self, binary):
        self.dir = tempfile.mkdtemp(prefix="i2v-browser-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, I2V_RENDER__PRESET="ultrafast", I2V_JOBS__POLL_MS="100", RUST_LOG="warn")
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.process = subprocess.Popen(
            [binary, "serve", "--data-dir", self.dir, "--listen", f"127.0.0.1:{self.port}",
             "--admin-token", ADMIN_TOKEN, "--allow-private-urls", "--workers", "1"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("i2v serve did not start; see " + self.log.name)

    def call(self, method, path, body=None, headers=None):
        request = urllib.request.Request(
            self.base + path, method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json", **(headers or {})},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def admin(self, method, path, body=None):
        return self.call(method, "/_admin/v1" + path, body, {"authorization": "Bearer " + ADMIN_TOKEN})

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what)


def wait_until(predicate, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def run(args):
    from playwright.sync_api import sync_playwright

    i2v = I2v(args.i2v)
    image_url = serve_image()
    try:
        created = i2v.admin("POST", "/accounts", {"name": "browser", "credits": 1000})["data"]
        key, client_id = created["clientSecret"], created["clientId"]
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            failures = []
            page.on("pageerror", lambda e: failures.append(str(e)))
            page.on("console", lambda m: m.type == "error" and failures.append(m.text))
            page.goto(i2v.base + "/console/")

            # A wrong key is refused, and nothing is shown.
            page.fill("#api-key", "x" * 32)
            page.click("#login-key button")
            page.wait_for_selector("#login-error:not([hidden])")
            check("Signing in failed" in page.inner_text("#login-error"), "a wrong API key is refused")
            check(page.is_hidden("#workspace"), "nothing of an account shows without a valid key")
            check(page.evaluate("document.cookie") == "", "no cookie is set")

            # Sign in with the key; credits show.
            page.fill("#api-key", key)
            page.click("#login-key button")
            page.wait_for_selector("#workspace:not([hidden])")
            check(page.inner_text("#credits") == "1000", "credits show after signing in")
            check(key not in page.url, "the key is not in the URL")

            # Create a video and watch it go 1 -> 2 -> 3 without reloading.
            page.fill("#image-url", image_url)
            page.fill("#prompt", "a slow zoom in on the gradient")
            page.select_option("#model", "AkoolImage2VideoFastV1")
            page.select_option("#resolution", "720p")
            page.select_option("#video-length", "5")
            page.click("#create button[type=submit]")
            page.wait_for_selector("#create-result.ok")
            video_id = page.get_attribute("#create-result", "data-id")
            row = f"tr.video[data-id='{video_id}']"
            page.wait_for_selector(row)
            seen = set()

            def status():
                value = page.get_attribute(row, "data-status")
                seen.add(value)
                return value == "3"

            wait_until(status, "the new video to complete", 120)
            check("1" in seen or "2" in seen, f"the unfinished status was shown before 3 (seen {sorted(seen)})")
            check(page.inner_text("#credits") == str(1000 - 20), "the charge shows in the credits")
            check("-20" in page.inner_text("table.ledger"), "the ledger shows the charge")

            # Its thumbnail is the render's poster.
            thumb = f"{row} img.poster"
            page.wait_for_selector(thumb)
            natural = wait_until(lambda: page.evaluate(
                f"document.querySelector(\"{thumb}\").naturalWidth"), "the poster to load", 30)
            check(natural == 320, f"the thumbnail is the 320-pixel poster ({natural})")

            # Play it: the media element reports its length and size.
            page.click(f"{row} button.play")
            # (wait_for_function would evaluate a string in the page, which the CSP forbids.)
            wait_until(lambda: page.evaluate("document.getElementById('player-video').readyState >= 1"),
                       "the video's metadata", 30)
            media = page.evaluate(
                "(() => { const v = document.getElementById('player-video');"
                " return [v.duration, v.videoWidth, v.videoHeight]; })()")
            check(abs(media[0] - 5.0) < 0.2 and media[1:] == [1280, 720], f"the video plays: 5 s at 1280x720 ({media})")
            if args.screenshots:
                page.screenshot(path=os.path.join(args.screenshots, "console-player.png"))
            page.click("#player form button")

            # Two more videos; hold one as processing; delete three at once.
            headers = {"x-api-key": key}
            more = []
            for n in range(2):
                answer = i2v.call("POST", "/api/open/v4/image2Video/createBySourcePrompt", {
                    "image_url": image_url, "prompt": f"video {n}", "resolution": "720p",
                    "audio_type": 3, "video_length": 5}, headers)
                more.append(answer["data"]["_id"])
            wait_until(lambda: all(
                v["status"] == 3 for v in i2v.call("POST", "/api/open/v4/image2Video/resultsByIds",
                                                  {"_ids": ",".join(more)}, headers)["data"]["result"]),
                "the two videos to complete", 120)
            i2v.admin("POST", f"/videos/{more[1]}/status", {"status": 2})
            page.click("#first-page")
            page.wait_for_selector(f"tr.video[data-id='{more[1]}'][data-status='2']")
            if args.screenshots:
                page.screenshot(path=os.path.join(args.screenshots, "console-account.png"), full_page=True)
            for vid in [video_id, more[0], more[1]]:
                page.check(f"input.pick[value='{vid}']")
            check(page.inner_text("#selected-count") == "3 selected", "three videos selected")
            page.click("#delete-selected")
            page.wait_for_selector(f"#delete-outcomes li[data-id='{more[1]}']")
            outcome = lambda vid: page.get_attribute(f"#delete-outcomes li[data-id='{vid}']", "data-outcome")
            check(outcome(video_id) == "deleted" and outcome(more[0]) == "deleted", "the two finished videos are deleted")
            check(outcome(more[1]) == "processing-refused", "the processing video is refused")
            check("processing" in page.inner_text(f"#delete-outcomes li[data-id='{more[1]}']"), "the refusal says why")
            wait_until(lambda: page.query_selector(f"tr.video[data-id='{video_id}']") is None,
                       "the deleted video to leave the list", 10)
            check(page.query_selector(f"tr.video[data-id='{more[1]}']") is not None, "the processing video stays")
            left = i2v.call("POST", "/api/open/v4/image2Video/resultsByIds",
                            {"_ids": ",".join([video_id, more[0], more[1]])}, headers)["data"]["result"]
            check([v["_id"] for v in left] == [more[1]], "the API agrees: only the processing video is left")

            # Sign out, then in with client ID and secret.
            page.click("#logout")
            check(page.is_hidden("#workspace"), "signing out hides the account")
            check(page.evaluate("sessionStorage.length") == 0, "signing out forgets the credentials")
            page.fill("#client-id", client_id)
            page.fill("#client-secret", key)
            page.click("#login-secret button")
            page.wait_for_selector("#workspace:not([hidden])")
            check(page.inner_text("#uid") == str(created["uid"]), "client ID and secret sign in too")

            admin_flows(i2v, browser, args, failures, more[1])
            check(not failures, f"no script errors ({failures})")
            browser.close()
    finally:
        i2v.stop()


def admin_flows(i2v, browser, args, failures, processing_id):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.on("pageerror", lambda e: failures.append(str(e)))
    page.goto(i2v.base + "/console/admin")

    # (The browser logs the refused request's 401 as an error: expected here, so script errors
    # are collected only after this step.)
    page.fill("#admin-token", "not-the-admin-token-000")
    page.click("#login-admin button")
    page.wait_for_selector("#login-error:not([hidden])")
    check(page.is_hidden("#workspace"), "a wrong admin token is refused")
    page.on("console", lambda m: m.type == "error" and failures.append(m.text))

    page.fill("#admin-token", ADMIN_TOKEN)
    page.click("#login-admin button")
    page.wait_for_selector("#workspace:not([hidden])")
    check(page.query_selector("tr.account") is not None, "the accounts are listed")

    # Create an account; it appears with its credits.
    page.fill("#account-name", "made in the console")
    page.fill("#account-credits", "250")
    page.click("#create-account button")
    page.wait_for_selector("#account-result.ok")
    uid = page.get_attribute("#account-result", "data-uid")
    row = f"tr.account[data-uid='{uid}']"
    page.wait_for_selector(row)
    check(page.inner_text(f"{row} td.credits") == "250", "a new account shows its credits")
    key = page.inner_text("#account-result").split("API key ")[1].split(" ")[0]

    # Top up, ban (its key is then refused), unban, rotate the secret.
    page.fill(f"{row} input.amount", "50")
    page.click(f"{row} button[data-action='credits']")
    wait_until(lambda: page.inner_text(f"{row} td.credits") == "300", "the top-up to show")
    check(True, "a top-up shows in the table")
    page.click(f"{row} button[data-action='ban']")
    page.wait_for_selector(f"{row}[data-banned='true']")
    refused = i2v.call("GET", "/api/open/v3/faceswap/quota/info", headers={"x-api-key": key})
    check(refused["code"] != 1000, f"a banned account's key is refused ({refused['code']})")
    page.click(f"{row} button[data-action='unban']")
    page.wait_for_selector(f"{row}[data-banned='false']")
    page.click(f"{row} button[data-action='rotate-secret']")
    wait_until(lambda: "new API key" in page.inner_text("#account-result"), "the new key to show")
    new_key = page.inner_text("#account-result").split("new API key ")[1].split(" ")[0]
    check(i2v.call("GET", "/api/open/v3/faceswap/quota/info", headers={"x-api-key": key})["code"] != 1000,
          "the old key stops working after a rotation")
    check(i2v.call("GET", "/api/open/v3/faceswap/quota/info", headers={"x-api-key": new_key})["code"] == 1000,
          "the new key works")

    # Any video's status: fail the processing video (with a refund).
    page.fill("#status-video-id", processing_id)
    page.select_option("#status-value", "4")
    page.click("#video-status button")
    page.wait_for_selector("#status-result.ok")
    check("status 4" in page.inner_text("#status-result"), "an operator can fail a video")

    # Webhook deliveries with their attempts, and redelivery: a video whose receiver is a closed
    # local port gets failed attempts.
    hooked = i2v.call("POST", "/api/open/v4/image2Video/createBySourcePrompt", {
        "image_url": "http://127.0.0.1:9/none.png", "prompt": "hooked", "resolution": "720p",
        "audio_type": 3, "video_length": 5, "webhookUrl": f"http://127.0.0.1:{free_port()}/hook"},
        {"x-api-key": new_key})["data"]["_id"]
    page.fill("#webhooks-video-id", hooked)

    def attempted():
        page.click("#webhooks-form button")
        page.wait_for_timeout(300)
        return page.query_selector("#webhooks tr.delivery ol.attempts li")

    wait_until(attempted, "a failed delivery attempt to show", 60)
    delivery = page.get_attribute("#webhooks tr.delivery", "data-id")
    shown = page.inner_text("#webhooks tr.delivery ol.attempts")
    check(" UTC: " in shown, f"a delivery shows its attempts ({shown!r})")
    page.click(f"#webhooks tr.delivery[data-id='{delivery}'] button")
    wait_until(lambda: page.get_attribute(f"#webhooks tr.delivery[data-id='{delivery}']", "data-state") == "pending",
               "the redelivered delivery to be pending", 10)
    redelivered = [d for d in i2v.admin("GET", f"/webhooks?video_id={hooked}")["data"]["result"]
                   if str(d["id"]) == delivery]
    check(redelivered and redelivered[0]["state"] == "pending", "redeliver makes the delivery pending again")

    # The test controls.
    page.click(f"{row} button[data-action='controls']")
    page.wait_for_selector("#controls-card:not([hidden])")
    wait_until(lambda: page.input_value("#control-json").strip().startswith("{"), "the lifecycle JSON")
    check("lifecycle" in page.inner_text("#control-result"), "the account's lifecycle is read")
    page.select_option("#control", "faults")
    page.fill("#control-json", json.dumps({"seed": 7, "rules": [{"route": "delbyids", "next": 1, "effect": {"http_status": 503}}]}))
    page.click("#control-save")
    wait_until(lambda: "PUT done" in page.inner_text("#control-result"), "the faults to be saved")
    faults = i2v.admin("GET", f"/accounts/{uid}/faults")["data"]
    check(faults["rules"][0]["route"] == "delbyids", "faults set in the console reach the admin API")
    page.click("#control-clear")
    wait_until(lambda: "DELETE done" in page.inner_text("#control-result"), "the faults to be cleared")
    if args.screenshots:
        page.screenshot(path=os.path.join(args.screenshots, "console-admin.png"), full_page=True)
    page.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--i2v", default="target/debug/i2v")
    parser.add_argument("--screenshots", default="")
    args = parser.parse_args()
    try:
        import playwright  # noqa: F401
    except ImportError:
        raise SystemExit("tests/browser: the playwright package is missing: pip install playwright")
    if not os.path.exists(CHROMIUM):
        raise SystemExit(f"tests/browser: no Chromium at {CHROMIUM}: apt-get install -y chromium")
    if args.screenshots:
        os.makedirs(args.screenshots, exist_ok=True)
    run(args)
    print("tests/browser/console_test.py: all checks passed")


if __name__ == "__main__":
    main()
