"""The webhook signer and envelope against the digest's test vector (webhooks-api.md §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from kco_sandbox.domain.errors import BadValue
from kco_sandbox.domain.webhook import (
    ALL_EVENTS,
    Destination,
    Event,
    check_destination,
    check_events,
    event_id,
    event_id_of,
    event_time,
)
from kco_sandbox.domain.webhook_signature import (
    format_secret,
    secret_key,
    signature,
    signature_headers,
)

SECRET = "whsec_a3VzdG9tLWVtdWxhdG9yLXRlc3Qta2V5LTMyYnl0ZSE="
OLD_SECRET = "whsec_a3VzdG9tLWVtdWxhdG9yLW9sZC1rZXktMzJieXRlcyE="
MESSAGE_ID = "kevt_1YcaJdWrmlw9yp1GiiVgad"
TIMESTAMP = 1775809627
BODY = (
    b'{"id":"kevt_1YcaJdWrmlw9yp1GiiVgad","merchant_id":"DM11917000",'
    b'"timestamp":"2026-04-10T08:27:07.248645321Z","type":"capture.created",'
    b'"data":{"order_id":"25ed76ed-6477-46bb-8444-63945789ccfb",'
    b'"capture_id":"070ddfa9-f7a8-4f00-9c1e-3b0c3f8a2d11"}}'
)
EXPECTED = "v1,EpPdbOQmRKHTzMyC0eYNOpp2gNFAdSM/X+mE/8G5y0I="
EXPECTED_OLD = "v1,ARghwmm3ExMGxMz3C43eAMi1zKssHLhXND7dmdbrSi4="
AT = datetime.fromtimestamp(TIMESTAMP, UTC)


def test_the_digest_vector_signs_as_documented() -> None:
    assert signature(SECRET, MESSAGE_ID, TIMESTAMP, BODY) == EXPECTED
    assert len(EXPECTED.removeprefix("v1,")) == 44


def test_the_three_headers_of_an_attempt() -> None:
    assert signature_headers([SECRET], MESSAGE_ID, AT, BODY) == {
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": "1775809627",
        "webhook-signature": EXPECTED,
    }


def test_during_a_rotation_both_secrets_sign_the_current_first() -> None:
    headers = signature_headers([SECRET, OLD_SECRET], MESSAGE_ID, AT, BODY)
    assert headers["webhook-signature"] == f"{EXPECTED} {EXPECTED_OLD}"


def test_a_destination_signs_with_the_previous_secret_only_within_the_window() -> None:
    created = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)
    destination = Destination(
        "d1", "m", "n", "https://x.example/", (ALL_EVENTS,), OLD_SECRET, created
    )
    assert destination.signing_secrets(AT) == (OLD_SECRET,)
    rotated = destination.rotated(SECRET, AT, timedelta(seconds=600))
    assert rotated.signing_secrets(AT) == (SECRET, OLD_SECRET)
    assert rotated.signing_secrets(AT + timedelta(seconds=599)) == (SECRET, OLD_SECRET)
    assert rotated.signing_secrets(AT + timedelta(seconds=600)) == (SECRET,)
    # A window of 0: the old secret stops at once.
    assert destination.rotated(SECRET, AT, timedelta(0)).signing_secrets(AT) == (SECRET,)


def test_secrets_are_whsec_and_base64_of_the_key() -> None:
    key = bytes(range(32))
    secret = format_secret(key)
    assert secret.startswith("whsec_")
    assert secret_key(secret) == key
    with pytest.raises(ValueError, match="whsec_"):
        secret_key("sk_" + secret)


def test_the_envelope_reproduces_the_documented_body() -> None:
    at = datetime(2026, 4, 10, 8, 27, 7, 248645, tzinfo=UTC)
    data = {
        "order_id": "25ed76ed-6477-46bb-8444-63945789ccfb",
        "capture_id": "070ddfa9-f7a8-4f00-9c1e-3b0c3f8a2d11",
    }
    body = Event(MESSAGE_ID, "DM11917000", at, "capture.created", data).body()
    # Our clocks keep microseconds: the documented nanoseconds end in 321, ours in 000.
    assert body == BODY.replace(b"248645321Z", b"248645000Z")
    assert list(msgspec.json.decode(body)) == ["id", "merchant_id", "timestamp", "type", "data"]
    assert event_id_of(body) == MESSAGE_ID


def test_event_times_have_nine_fractional_digits_in_utc() -> None:
    at = datetime(2026, 4, 10, 10, 27, 7, 5, tzinfo=UTC) + timedelta(hours=0)
    assert event_time(at) == "2026-04-10T10:27:07.000005000Z"


def test_event_ids_are_kevt_and_22_base62_digits() -> None:
    assert event_id(0) == "kevt_" + "0" * 22
    largest = event_id(2**128 - 1)
    assert len(largest) == 27
    assert largest.removeprefix("kevt_").isalnum()
    with pytest.raises(ValueError, match="128-bit"):
        event_id(2**128)


@pytest.mark.parametrize(
    ("name", "url", "events", "field"),
    [
        ("", "https://x.example/", ["order.created"], "name"),
        ("n" * 101, "https://x.example/", ["order.created"], "name"),
        (3, "https://x.example/", ["order.created"], "name"),
        ("n", "ftp://x.example/", ["order.created"], "url"),
        ("n", "https:///nohost", ["order.created"], "url"),
        ("n", "https://x.example/" + "a" * 2000, ["order.created"], "url"),
        ("n", "https://x.example/", [], "events"),
        ("n", "https://x.example/", ["order.updated"], "events"),
        ("n", "https://x.example/", "order.created", "events"),
        ("n", "https://x.example/", [1], "events"),
    ],
)
def test_a_destination_breaking_a_rule_names_the_field(
    name: object, url: object, events: object, field: str
) -> None:
    with pytest.raises(BadValue) as raised:
        check_destination(name, url, events, allow_http=True)
    assert raised.value.path == field


def test_http_only_when_allowed() -> None:
    assert check_destination("n", "http://localhost:9/h", ["*"], allow_http=True).url
    with pytest.raises(BadValue):
        check_destination("n", "http://localhost:9/h", ["*"], allow_http=False)


def test_events_are_deduplicated_in_catalogue_order_and_star_is_all() -> None:
    assert check_events(["refund.created", "order.created", "refund.created"]) == (
        "order.created",
        "refund.created",
    )
    assert check_events(["capture.created", "*"]) == ("*",)
