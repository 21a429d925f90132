"""Schemathesis hooks of the contract test (xtask/tests/it/contract.rs)."""

import os

import schemathesis

# A list cursor is opaque: only one the API returned is valid, and no schema
# can say which strings those are. So a schema-valid cursor a case carries is
# swapped for a real one (from CONTRACT_LIST_CURSOR); invalid ones (empty,
# too long, not a string) are sent as generated.
CURSOR = os.environ.get("CONTRACT_LIST_CURSOR")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    body = case.body
    if (
        CURSOR
        and isinstance(body, dict)
        and body.get("action") == "list"
        and isinstance(body.get("cursor"), str)
        and 1 <= len(body["cursor"]) <= 512
    ):
        body["cursor"] = CURSOR
