"""Schemathesis hooks for LWAMS (scripts/api_fuzz.sh): signs in as the throw-away
server's first administrator and sends what every request of a browser sends — the
session cookie and, for state-changing requests, the session's CSRF token.

Schemathesis calls `get` again (signs in anew) whenever a response is 401, e.g. after
a fuzzed request ended the session; sign-out and password change are not fuzzed.
"""

import os

import requests
import schemathesis

BASE = os.environ["LWAMS_FUZZ_URL"]
LOGIN = os.environ.get("LWAMS_FUZZ_LOGIN", "admin")
PASSWORD = os.environ["LWAMS_FUZZ_PASSWORD"]


@schemathesis.auth()
class LwamsSession:
    def get(self, case, context):
        r = requests.post(
            f"{BASE}/api/v1/auth/login",
            json={"login": LOGIN, "password": PASSWORD},
            timeout=30,
        )
        if r.status_code != 200:
            raise RuntimeError(f"sign-in failed: {r.status_code} {r.text}")
        token = r.cookies.get("lwams_session")
        if not token:
            raise RuntimeError("sign-in set no lwams_session cookie")
        me = r.json()
        return {"token": token, "csrf": me["csrf_token"], "user_id": me["user_id"]}

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["X-CSRF-Token"] = data["csrf"]
        case.cookies = case.cookies or {}
        case.cookies["lwams_session"] = data["token"]
