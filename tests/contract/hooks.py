"""Schemathesis hooks for Roster's contract run (tests/api/contract.rs starts it).

The run acts with credentials the test made before it started (ROSTER_CONTRACT_TOKENS, comma
separated): the first admin's session (a platform operator), then API tokens holding every account
permission. When an answer is 401 (the fuzzer ended that session, or revoked that token), the
next request uses the next credential.
"""

import base64
import os
import threading

import schemathesis

TOKENS = os.environ["ROSTER_CONTRACT_TOKENS"].split(",")
_lock = threading.Lock()
_current = [0]


@schemathesis.auth(refresh_interval=None)
class Rotating:
    def get(self, case, context):
        with _lock:
            return TOKENS[min(_current[0], len(TOKENS) - 1)]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def after_call(context, case, response):
    # A 401 from a bearer route means the credential was ended; the sign-in routes answer 401
    # to a wrong password or code whatever the header holds.
    if response.status_code != 401 or case.path.startswith("/api/v1/auth/"):
        return
    used = (case.headers or {}).get("Authorization", "").removeprefix("Bearer ")
    with _lock:
        if _current[0] < len(TOKENS) and TOKENS[_current[0]] == used:
            _current[0] += 1
            with open(os.environ["ROSTER_CONTRACT_USED"], "w") as f:
                f.write(str(_current[0]))


@schemathesis.hook
def before_call(context, case, **kwargs):
    # The run keeps its own account usable: disabling it would leave every later request a 403,
    # which tests nothing. (Disabling an account is tested in tests/api/permissions.rs.)
    if case.method == "PATCH" and case.path == "/api/v1/accounts/{account}" and isinstance(case.body, dict):
        if case.body.get("enabled") is False:
            case.body["enabled"] = True


# A list's cursor is opaque: only one this server gave out is valid (any other is a 400). The
# fuzzer cannot page, so it is given a real cursor of each list: after the login or name "m",
# or before the id 1000000 for the lists newest first.
_CURSOR_OF = {
    "/users": "u:m",
    "/roles": "r:m",
    "/groups": "g:m",
    "/desks": "d:m",
    "/skills": "k:m",
    "/tokens": "t:1000000",
    "/sessions": "s:1000000",
    "/outbox": "o:1000000",
    "/activity": "e:1000000",
    "/api/v1/accounts": "a:m",
}


@schemathesis.hook
def map_query(context, query):
    if not query or "cursor" not in query:
        return query
    path = context.operation.path
    for suffix, position in _CURSOR_OF.items():
        if path.endswith(suffix):
            query["cursor"] = base64.urlsafe_b64encode(position.encode()).decode().rstrip("=")
    return query


def _integral_floats_as_integers(value):
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_floats_as_integers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_integers(v) for v in value]
    return value


@schemathesis.hook
def map_body(context, body):
    # JSON Schema counts 3.0 as an integer; Roster's integers (ids, minutes, counts) are read
    # as integers written without a fraction, as every generated client writes them.
    return _integral_floats_as_integers(body)
