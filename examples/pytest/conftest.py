"""Fixtures: the i2v server from the environment, its admin API, and one fresh account per test.

I2V_URL, I2V_ADMIN_TOKEN and I2V_IMAGE_URL name the server, its admin token and an image it can
fetch; after `source i2v-dev/dev.env` the I2V_DEV_* variables `i2v dev` writes are used instead.
"""

import os
import uuid

import pytest
import requests

from akool_client import AkoolClient


def _env(name, dev_name):
    value = os.environ.get(name) or os.environ.get(dev_name)
    if not value:
        pytest.exit(f"set {name} (or source i2v-dev/dev.env for {dev_name})", returncode=2)
    return value


class AdminError(Exception):
    def __init__(self, code, msg):
        super().__init__(f"admin error {code}: {msg}")
        self.code = code
        self.msg = msg


class Admin:
    """i2v's emulator controls under /_admin/v1 (Akool envelope, admin bearer token)."""

    def __init__(self, base_url, token):
        self.base = base_url.rstrip("/") + "/_admin/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method, path, body=None):
        response = self.session.request(method, self.base + path, json=body, timeout=120)
        response.raise_for_status()
        answer = response.json()
        if answer.get("code") != 1000:
            raise AdminError(answer.get("code"), answer.get("msg"))
        return answer.get("data")

    def create_account(self, lifecycle=None, credits=1000):
        body = {"name": f"ci-{uuid.uuid4().hex[:8]}", "credits": credits}
        if lifecycle is not None:
            body["lifecycle"] = lifecycle
        return self.call("POST", "/accounts", body)

    def account(self, uid):
        return self.call("GET", f"/accounts/{uid}")

    def set_lifecycle(self, uid, lifecycle):
        return self.call("PUT", f"/accounts/{uid}/lifecycle", lifecycle)

    def lifecycle(self, uid):
        return self.call("GET", f"/accounts/{uid}/lifecycle")

    def add_outcomes(self, uid, *outcomes):
        return self.call("POST", f"/accounts/{uid}/outcomes", {"outcomes": list(outcomes)})

    def set_outcome(self, video_id, outcome):
        return self.call("PUT", f"/videos/{video_id}/outcome", outcome)

    def advance_video(self, video_id):
        return self.call("POST", f"/videos/{video_id}/advance")

    def clock(self, uid):
        return self.call("GET", f"/accounts/{uid}/clock")

    def advance_clock(self, uid, ms=None, to_ms=None):
        body = {"ms": ms} if to_ms is None else {"to_ms": to_ms}
        return self.call("POST", f"/accounts/{uid}/clock/advance", body)

    def seed(self, uid, videos):
        return self.call("POST", f"/accounts/{uid}/seed", {"videos": videos})["ids"]

    def reset(self, uid):
        return self.call("POST", f"/accounts/{uid}/reset")

    def webhooks(self, video_id):
        return self.call("GET", f"/webhooks?video_id={video_id}")["result"]

    def requests(self, uid, path=None, limit=1000):
        """The account's journaled Akool requests, oldest first (the API answers newest first)."""
        params = {"uid": uid, "limit": limit}
        if path:
            params["path"] = path
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.call("GET", f"/requests?{query}")["requests"][::-1]

    def set_faults(self, uid, rules, seed=None):
        body = {"rules": rules} if seed is None else {"seed": seed, "rules": rules}
        return self.call("PUT", f"/accounts/{uid}/faults", body)

    def set_webhook_faults(self, uid, rules, seed=None):
        body = {"rules": rules} if seed is None else {"seed": seed, "rules": rules}
        return self.call("PUT", f"/accounts/{uid}/webhook-faults", body)


class Account:
    """A test's own account: its uid, keys and an AkoolClient using its API key."""

    def __init__(self, base_url, issued):
        self.uid = issued["uid"]
        self.client_id = issued["clientId"]
        self.client_secret = issued["clientSecret"]
        self.client = AkoolClient(base_url, api_key=self.client_secret)


@pytest.fixture(scope="session")
def i2v_url():
    return _env("I2V_URL", "I2V_DEV_URL")


@pytest.fixture(scope="session")
def image_url():
    return _env("I2V_IMAGE_URL", "I2V_DEV_IMAGE")


@pytest.fixture(scope="session")
def admin(i2v_url):
    return Admin(i2v_url, _env("I2V_ADMIN_TOKEN", "I2V_DEV_ADMIN_TOKEN"))


@pytest.fixture
def new_account(i2v_url, admin):
    """Creates an account with the given lifecycle; no test shares one, so tests may run in
    parallel on one server (each account has its own clock, outcomes and lifecycle)."""

    def make(lifecycle, credits=1000):
        return Account(i2v_url, admin.create_account(lifecycle, credits))

    return make
