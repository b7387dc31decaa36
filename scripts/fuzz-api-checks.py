"""A schemathesis check for scripts/fuzz-api: no auth bypass, the Akool way.

Akool routes refuse a request with HTTP 200 and an error `code` (1101, 1102, 1109), so
schemathesis's own `ignored_auth` check, which expects 401/403, cannot tell a refusal from a
bypass. This check replays every fuzzed case of an operation that declares `security` without
credentials, with a wrong API key and with a wrong bearer token, and fails if any replay
succeeds: a 2xx answer whose JSON `code` is 1000 (or that has no `code` at all).
"""

import schemathesis

CREDENTIAL_HEADERS = ("x-api-key", "authorization")
PROBES = (
    {},
    {"x-api-key": "fuzz-wrong-api-key"},
    {"authorization": "Bearer fuzz.wrong.token"},
)


def _succeeded(response):
    if not 200 <= response.status_code < 300:
        return False
    try:
        body = response.json()
    except ValueError:
        return True
    return not isinstance(body, dict) or body.get("code", 1000) == 1000


@schemathesis.check
def no_auth_bypass(ctx, response, case):
    """Protected operations never succeed without valid credentials."""
    if not case.operation.definition.raw.get("security"):
        return None
    kept = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() not in CREDENTIAL_HEADERS
    }
    for probe in PROBES:
        replay = case.derive(headers={**kept, **probe}).call()
        if _succeeded(replay):
            sent = ", ".join(f"{k}: {v}" for k, v in probe.items()) or "no credentials"
            raise AssertionError(
                f"{case.operation.label} succeeded with {sent}: "
                f"HTTP {replay.status_code} {replay.text[:200]}"
            )
    return None
