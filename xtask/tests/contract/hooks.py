"""Schemathesis hooks of the contract test (xtask/tests/it/contract.rs)."""

import os

import schemathesis

# A list cursor is opaque: only one the API returned is valid, and no schema
# can say which strings those are. So a schema-valid cursor a case carries is
# swapped for a real one (from CONTRACT_LIST_CURSOR); invalid ones (empty,
# too long, not a string) are sent as generated.
CURSOR = os.environ.get("CONTRACT_LIST_CURSOR")
# A generated session id is almost never a session: the answers would be
# 404s. A well-formed one is swapped for a real session of the tester's
# (CONTRACT_SESSION_ID), so the documented 200 answers of every action are
# checked too; `delete` keeps its generated id so the session stays.
SESSION = os.environ.get("CONTRACT_SESSION_ID")
UUID_LEN = 36


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    body = case.body
    if not isinstance(body, dict):
        return
    if (
        CURSOR
        and body.get("action") == "list"
        and isinstance(body.get("cursor"), str)
        and 1 <= len(body["cursor"]) <= 512
    ):
        body["cursor"] = CURSOR
    sid = body.get("sessionId")
    if (
        SESSION
        and body.get("action") != "delete"
        and isinstance(sid, str)
        and len(sid) == UUID_LEN
        and sid == sid.lower()
        and sid.count("-") == 4
    ):
        body["sessionId"] = SESSION
