"""The Hosted Payment Page's pure rules: the status table, URLs and placeholders, what a session
shows, its status callback, and distribution requests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from kco_sandbox.domain.errors import (
    BadValue,
    ConstraintViolation,
    MissingContactData,
    UnsupportedCountry,
)
from kco_sandbox.domain.hpp import (
    FINAL,
    HppAction,
    HppMerchantUrls,
    HppOptions,
    HppSession,
    HppStatus,
    SessionRequest,
    SessionUrls,
    check_urls,
    fill,
    move,
    new_session,
    order_id_of,
    outcome_url,
    short_id_of,
    status_callback,
    timestamp,
    view,
)
from kco_sandbox.domain.hpp_distribution import judge, mask_email, mask_tail, request_from

NOW = datetime(2026, 5, 13, 14, 51, 46, 288000, tzinfo=UTC)


def session(status: HppStatus = HppStatus.WAITING, **urls: str) -> HppSession:
    request = SessionRequest(
        payment_session_url="/checkout/v3/orders/o-1",
        merchant_urls=HppMerchantUrls(**urls),
        options=HppOptions(page_title="Pay"),
    )
    made = new_session("s-1", "m-1", "o-1", NOW + timedelta(hours=48), request, NOW)
    return HppSession(**{**{f: getattr(made, f) for f in made.__slots__}, "status": status})


# Every (status, action) pair, as the vendor's lifecycle reads (None: not allowed).
EXPECTED = {
    HppAction.OPEN: {
        HppStatus.WAITING: HppStatus.IN_PROGRESS,
        HppStatus.IN_PROGRESS: HppStatus.IN_PROGRESS,
        HppStatus.FAILED: HppStatus.IN_PROGRESS,
        HppStatus.BACK: HppStatus.IN_PROGRESS,
        HppStatus.ERROR: HppStatus.IN_PROGRESS,
    },
    HppAction.COMPLETE: {s: HppStatus.COMPLETED for s in HppStatus if s not in FINAL},
    HppAction.DECLINE: {HppStatus.IN_PROGRESS: HppStatus.FAILED},
    HppAction.BACK: {HppStatus.IN_PROGRESS: HppStatus.BACK},
    HppAction.CANCEL: {HppStatus.IN_PROGRESS: HppStatus.CANCELLED},
    HppAction.ERROR: {
        HppStatus.WAITING: HppStatus.ERROR,
        HppStatus.IN_PROGRESS: HppStatus.ERROR,
        HppStatus.FAILED: HppStatus.ERROR,
        HppStatus.BACK: HppStatus.ERROR,
        HppStatus.ERROR: HppStatus.ERROR,
    },
    HppAction.DISABLE: {s: HppStatus.DISABLED for s in HppStatus if s not in FINAL},
}


@pytest.mark.parametrize("action", list(HppAction))
@pytest.mark.parametrize("status", list(HppStatus))
def test_the_status_table(action: HppAction, status: HppStatus) -> None:
    assert move(status, action) == EXPECTED[action].get(status)


def test_final_statuses_never_move() -> None:
    for status in FINAL:
        assert all(move(status, action) is None for action in HppAction)


def test_a_move_bumps_the_version_and_time_and_the_same_status_changes_nothing() -> None:
    waiting = session()
    later = NOW + timedelta(seconds=5)
    opened = waiting.moved(HppAction.OPEN, later)
    assert opened is not None
    assert (opened.status, opened.updated_at, opened.version) == (HppStatus.IN_PROGRESS, later, 2)
    assert opened.moved(HppAction.OPEN, later + timedelta(seconds=1)) is opened
    assert waiting.moved(HppAction.CANCEL, later) is None
    done = opened.completed("X438HG0Q", later)
    assert done is not None
    assert done.klarna_reference == "X438HG0Q"
    assert done.completed("other", later) is None


def test_expiry_is_an_hour_before_the_orders() -> None:
    made = session()
    assert made.expires_at == NOW + timedelta(hours=47)
    assert not made.is_expired(NOW + timedelta(hours=46, minutes=59))
    assert made.is_expired(NOW + timedelta(hours=47))


@pytest.mark.parametrize(
    "url",
    [
        "https://api.kustom.co/checkout/v3/orders/o-1",
        "http://localhost:8000/checkout/v3/orders/o-1/",
        "/checkout/v3/orders/o-1",
        "checkout/v3/orders/o-1?x=1",
    ],
)
def test_the_payment_session_url_names_its_order_on_any_host(url: str) -> None:
    assert order_id_of(url) == "o-1"


@pytest.mark.parametrize(
    "url", ["", "https://shop.example/o-1", "/checkout/v3/orders/", "/payments/v1/sessions/x"]
)
def test_a_url_naming_no_checkout_order_is_a_bad_value(url: str) -> None:
    with pytest.raises(BadValue, match="payment_session_url"):
        order_id_of(url)


def test_merchant_urls_must_be_http_and_status_update_https_when_enforced() -> None:
    check_urls(HppMerchantUrls(success="http://shop.example/ok"), https_status_update=True)
    with pytest.raises(BadValue, match=r"merchant_urls\.back"):
        check_urls(HppMerchantUrls(back="javascript:alert(1)"), https_status_update=False)
    with pytest.raises(BadValue, match="status_update"):
        check_urls(HppMerchantUrls(status_update="http://shop.example"), https_status_update=True)
    check_urls(HppMerchantUrls(status_update="http://shop.example"), https_status_update=False)


def test_placeholders_are_filled_literal_and_optionally_encoded() -> None:
    made = session()
    url = "https://s.example/?sid={{session_id}}&o={{order_id}}&e=%7B%7Bsession_id%7D%7D"
    assert fill(url, made) == "https://s.example/?sid=s-1&o=o-1&e=%7B%7Bsession_id%7D%7D"
    assert fill(url, made, encoded=True) == "https://s.example/?sid=s-1&o=o-1&e=s-1"
    assert fill("https://s.example/%7b%7border_id%7d%7d", made, encoded=True).endswith("/o-1")


def test_each_outcome_has_its_url_and_error_falls_back_to_failure() -> None:
    urls = {"success": "https://s/ok/{{order_id}}", "failure": "https://s/f", "back": "https://s/b"}
    assert outcome_url(session(HppStatus.COMPLETED, **urls)) == "https://s/ok/o-1"
    assert outcome_url(session(HppStatus.FAILED, **urls)) == "https://s/f"
    assert outcome_url(session(HppStatus.ERROR, **urls)) == "https://s/f"
    assert outcome_url(session(HppStatus.ERROR, error="https://s/e", **urls)) == "https://s/e"
    assert outcome_url(session(HppStatus.BACK, **urls)) == "https://s/b"
    assert outcome_url(session(HppStatus.CANCELLED, **urls)) is None  # our own page then
    assert outcome_url(session(HppStatus.DISABLED, **urls)) is None


def test_the_view_shows_the_order_only_once_completed() -> None:
    assert timestamp(NOW) == "2026-05-13T14:51:46.288Z"
    assert view(session()) == {
        "session_id": "s-1",
        "status": "WAITING",
        "updated_at": "2026-05-13T14:51:46.288Z",
        "expires_at": "2026-05-15T13:51:46.288Z",
    }
    done = session(HppStatus.IN_PROGRESS).completed("X438HG0Q", NOW)
    assert done is not None
    assert view(done)["order_id"] == "o-1"
    assert view(done)["klarna_reference"] == "X438HG0Q"


def test_the_creation_answer_has_all_eight_fields() -> None:
    created = SessionUrls("https://kco.example", session()).created()
    assert len(created) == 8
    assert created["session_url"] == "https://kco.example/hpp/v1/sessions/s-1"
    assert created["redirect_url"] == f"https://kco.example/hpp/payments/{short_id_of('s-1')}"


def test_the_short_id_is_stable_and_alphanumeric() -> None:
    assert short_id_of("s-1") == short_id_of("s-1") != short_id_of("s-2")
    assert short_id_of("s-1").isalnum()
    assert len(short_id_of("s-1")) == 10


def test_a_status_callback_for_each_told_status_only() -> None:
    url = {"status_update": "https://s/cb?id={{session_id}}"}
    assert status_callback(session(HppStatus.WAITING, **url), "e", "c") is None
    assert status_callback(session(HppStatus.DISABLED, **url), "e", "c") is None
    assert status_callback(session(HppStatus.IN_PROGRESS), "e", "c") is None  # no URL
    callback = status_callback(session(HppStatus.IN_PROGRESS, **url), "e-1", "c-1")
    assert callback is not None
    assert (callback.url, callback.target, callback.order_id) == (
        "https://s/cb?id=s-1",
        "s-1",
        "o-1",
    )
    assert callback.next_attempt_at == callback.starts_at == NOW
    assert json.loads(callback.body) == {
        "event_id": "e-1",
        "session": view(session(HppStatus.IN_PROGRESS)),
    }


def test_distribution_checks_each_method() -> None:
    made = session()
    link = "https://kco.example/hpp/payments/abc"
    email = judge(
        request_from({"method": "email", "contact_information": {"email": "anna@example.com"}}),
        made,
        link,
    )
    assert (email.contact, email.message) == ("a***@example.com", f"Pay: {link}")
    sms = request_from(
        {"method": "sms", "contact_information": {"phone": "+46 70 123 45", "phone_country": "SE"}}
    )
    assert judge(sms, made, link).contact == "SE ******2345"
    with pytest.raises(MissingContactData):
        judge(request_from({"method": "email"}), made, link)
    with pytest.raises(UnsupportedCountry):
        judge(
            request_from(
                {
                    "method": "sms",
                    "contact_information": {"phone": "0701234567", "phone_country": "XX"},
                }
            ),
            made,
            link,
        )
    with pytest.raises(ConstraintViolation):
        request_from({"method": "email", "contact_information": {"email": 5}})
    with pytest.raises(ConstraintViolation):
        judge(request_from({"method": "Email"}), made, link)
    assert mask_email("x@y.z") == "x***@y.z"
    assert mask_tail("abc") == "abc"
