"""schemathesis (from PyPI) against /openapi.json of the running web app.

It generates requests for every operation from the document itself (valid and invalid
bodies, query strings and ids), sends them with an admin's bearer token, and checks each
answer: never a 5xx, a status code the document lists, and a body and headers that match
the document's schema for that status. Path ids are pinned to real objects of a fresh org
(a channel, a ticket, a customer, the admin), so handlers run past their 404s.

Tunable: `SCHEMATHESIS_MAX_EXAMPLES` (per operation), `SCHEMATHESIS_SEED`,
`SCHEMATHESIS_PHASES`. CI runs the examples, the coverage phase (every operation with its
boundary, missing and wrongly-typed values: about 6,700 requests) and the stateful phase, in
about 80 s on two cores. The random fuzzing phase costs about 1 s of hypothesis generation
per operation whatever the example count (4 minutes locally, over 15 on a loaded CI machine),
so it is a deeper run on demand:
`SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful SCHEMATHESIS_MAX_EXAMPLES=25`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import aiohttp

from tests.fakes import payloads
from tests.images import GIF
from tests.integration.conftest import Api, WorkerProcess, eventually, signup

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
# A websocket upgrade is not an HTTP exchange schemathesis can judge.
EXCLUDED_PATHS = ["/ws"]
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261123")
PHASES = os.environ.get("SCHEMATHESIS_PHASES", "examples,coverage,stateful")
TIMEOUT_SECONDS = 900


async def _real_ids(admin: Api) -> dict[str, str]:
    """Objects for the path parameters: a MOCK channel with one customer and one ticket."""
    status, channel, _ = await admin.post(
        f"/orgs/{admin.org_id}/channels", {"type": "MOCK", "name": "Fuzzed", "config": {}}
    )
    assert status == 201, channel
    status, body, _ = await admin.webhook(
        channel["id"], payloads.mock_text("fuzz-1", "cust-fuzz", "Hello there"), None
    )
    assert status == 200, body

    async def ticket() -> dict | None:
        _, found, _ = await admin.get(f"/orgs/{admin.org_id}/tickets?channelId={channel['id']}")
        return found[0] if found else None

    first = await eventually(ticket, timeout=30)
    ids = {
        "orgId": admin.org_id,
        "channelId": channel["id"],
        "ticketId": first["id"],
        "customerId": first["customerId"],
        "userId": admin.user["id"],
    }
    # A macro and a draft campaign too, so their operations are fuzzed past the 404.
    status, macro, _ = await admin.post(
        f"/orgs/macros/{admin.org_id}", {"name": "Greeting", "content": "Hi {{ customer.name }}"}
    )
    if status == 201:
        ids["macroId"] = macro["id"]
    status, campaign, _ = await admin.post(
        f"/orgs/{admin.org_id}/campaigns",
        {"channelId": channel["id"], "name": "Fuzzed", "messageTemplate": "Hi {{ customer.name }}"},
    )
    if status == 201:
        ids["campaignId"] = campaign["id"]
    # A category, a product in it and one uploaded image (its id is also the media key).
    status, category, _ = await admin.post(
        f"/orgs/{admin.org_id}/categories", {"name": "Fuzzed category"}
    )
    if status == 201:
        ids["categoryId"] = category["id"]
        status, product, _ = await admin.post(
            f"/orgs/{admin.org_id}/products",
            {"name": "Fuzzed product", "price": 1, "categoryId": category["id"]},
        )
        if status == 201:
            ids["productId"], ids["slug"] = product["id"], product["slug"]
            form = aiohttp.FormData()
            form.add_field("image", GIF, filename="fuzz.gif")
            status, image, _ = await admin.call(
                "POST", f"/orgs/{admin.org_id}/products/{product['id']}/images", data=form
            )
            if status == 201:
                ids["imageId"] = ids["key"] = image["id"]
    # A coupon, and an order of a product with stock, so theirs are fuzzed past the 404 too.
    status, coupon, _ = await admin.post(
        f"/orgs/{admin.org_id}/coupons", {"code": "FUZZ10", "type": "percentage", "value": 10}
    )
    if status == 201:
        ids["couponId"], ids["code"] = coupon["id"], coupon["code"]
    status, stocked, _ = await admin.post(
        f"/orgs/{admin.org_id}/products",
        {"name": "Fuzzed stock", "price": 5, "stockQuantity": 1000},
    )
    if status == 201:
        status, order, _ = await admin.post(
            f"/orgs/{admin.org_id}/orders",
            {
                "customerId": ids["customerId"],
                "items": [{"productId": stocked["id"], "quantity": 1}],
            },
        )
        if status == 201:
            ids["orderId"] = order["id"]
    # An outbound webhook (to a closed local port) and its test delivery.
    status, hook, _ = await admin.post(
        f"/orgs/{admin.org_id}/webhooks",
        {"url": "http://127.0.0.1:9/fuzz", "events": ["order.created"]},
    )
    if status == 201:
        ids["webhookId"] = hook["id"]
        status, delivery, _ = await admin.post(f"/orgs/{admin.org_id}/webhooks/{hook['id']}/test")
        if status == 202:
            ids["deliveryId"] = delivery["id"]
    # An automation rule, so its operations and its log are fuzzed past the 404.
    status, rule, _ = await admin.post(
        f"/orgs/{admin.org_id}/automation/rules",
        {
            "name": "Fuzzed rule",
            "trigger": {"type": "order_placed"},
            "actions": [{"type": "add_tag", "tag": "fuzzed"}],
        },
    )
    if status == 201:
        ids["ruleId"] = rule["id"]
    # A segment, so its operations and its customers are fuzzed past the 404.
    status, segment, _ = await admin.post(
        f"/orgs/{admin.org_id}/segments",
        {
            "name": "Fuzzed segment",
            "conditions": [{"field": "totalOrders", "operator": "gte", "value": 0}],
        },
    )
    if status == 201:
        ids["segmentId"] = segment["id"]
    # An e-mail template, so the template operations are fuzzed past the 404.
    status, template, _ = await admin.post(
        f"/orgs/{admin.org_id}/emails/templates",
        {"name": "Fuzzed template", "subject": "Hi {{ customer_name }}", "body": "<p>Hi</p>"},
    )
    if status == 201:
        ids["templateId"] = template["id"]
    return ids


def _config(ids: dict[str, str], path: Path) -> Path:
    lines = ["[parameters]"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in ids.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_schemathesis_finds_no_server_error_and_no_response_outside_the_schema(
    web_url: str, http: aiohttp.ClientSession, worker: WorkerProcess, tmp_path: Path
) -> None:
    admin = await signup(web_url, http, org="Fuzzed")
    ids = await _real_ids(admin)
    config = _config(ids, tmp_path / "schemathesis.toml")
    argv = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config),
        "run",
        f"{web_url}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        PHASES,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--header",
        f"Authorization: Bearer {admin.token}",
        "--generation-database",
        "none",
        # One worker: CPython 3.11's ast.parse (used by hypothesis to describe filters) is not
        # thread-safe ("AST constructor recursion depth mismatch"), and two cores are shared.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    for path in EXCLUDED_PATHS:
        argv += ["--exclude-path", path]
    # The server runs on this test's event loop: wait for the CLI without blocking it.
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "160"},
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    report = out.decode(errors="replace")
    print(report)  # the summary: operations, cases generated, and any failure reproduced
    assert proc.returncode == 0, report[-20_000:]


# What schemathesis found once, pinned down as plain tests (each was a 500 before).


async def test_a_password_longer_than_bcrypt_reads_is_refused_not_a_crash(
    web_url: str, http: aiohttp.ClientSession
) -> None:
    api = Api(web_url, http)
    long = "é" * 40  # 40 characters, 80 bytes: bcrypt reads 72
    status, body, _ = await api.post(
        "/auth/signup",
        {"orgName": "Long", "name": "L", "email": "long-pass@example.com", "password": long},
    )
    assert status == 400 and "72 bytes" in body["details"]["password"]
    status, body, _ = await api.post(
        "/auth/login", {"email": "long-pass@example.com", "password": "x" * 100}
    )
    assert status == 401 and body["code"] == "INVALID_CREDENTIALS"


async def test_json_that_mongodb_cannot_store_is_a_400_naming_the_field(admin: Api) -> None:
    channels = f"/orgs/{admin.org_id}/channels"
    status, body, _ = await admin.post(
        channels, {"type": "MOCK", "name": "N", "config": {"a": {"b\u0000c": 1}}}
    )
    assert status == 400 and body["details"] == {
        "config.a.b\\u0000c": "a key contains a NUL character"
    }
    status, body, _ = await admin.post(
        channels, {"type": "MOCK", "name": "N", "config": {"big": [1, 2**64]}}
    )
    assert status == 400 and body["details"] == {"config.big.1": "integer outside the 64-bit range"}
    raw = b'{"type": "MOCK", "name": "\\udb94", "config": {}}'
    status, body, _ = await admin.post(
        channels, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["details"] == {"name": "not valid Unicode (a lone surrogate)"}
    raw = b'{"type": "MOCK", "name": "N", "config": {"x": NaN}}'
    status, body, _ = await admin.post(
        channels, data=raw, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and body["code"] == "INVALID_JSON"


async def test_a_page_past_any_list_is_a_400_not_an_overflow(admin: Api) -> None:
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/tickets?page={10**30}")
    assert status == 400 and "page" in body["details"]
    status, body, _ = await admin.get(f"/orgs/{admin.org_id}/tickets?page=1000000")
    assert status == 200 and body == []
