"""The fuzz run's rules catch what they are there to catch, and what they catch is reported with
its request (a run finding nothing proves something only if the rules can fail)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests
from schemathesis import Response

from tests.fuzz.checks import broken
from tests.fuzz.report import render
from tests.fuzz.run import EXAMPLES_KEPT, Finding, OperationStats, Report

CORRELATION = "f0c4a1d2-0000-4000-8000-000000000001"
ERROR = {
    "error_code": "BAD_VALUE",
    "error_messages": ["Bad value: x"],
    "correlation_id": CORRELATION,
}


def answer(status: int, body: object = None, **headers: str) -> Response:
    content = (
        b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
    )
    request = requests.Request("GET", "http://127.0.0.1/checkout/v3/orders/x").prepare()
    return Response(
        status_code=status,
        headers={name.replace("_", "-"): [value] for name, value in headers.items()},
        content=content,
        request=request,
        elapsed=0.0,
        verify=True,
    )


@pytest.mark.parametrize(
    ("response", "reasons"),
    [
        (answer(200, {}, Klarna_Correlation_Id=CORRELATION), []),
        (answer(204, Klarna_Correlation_Id=CORRELATION), []),
        (answer(400, ERROR, Klarna_Correlation_Id=CORRELATION), []),
        (answer(404, Klarna_Correlation_Id=CORRELATION), []),  # an expired order: no body
        (answer(401, b"<html/>", Klarna_Correlation_Id=CORRELATION, WWW_Authenticate="Basic"), []),
        (answer(500, ERROR, Klarna_Correlation_Id=CORRELATION), ["server error 500"]),
        (answer(200, {}), ["no Klarna-Correlation-Id header"]),
        (
            answer(401, b"<html/>", Klarna_Correlation_Id=CORRELATION),
            ["401 body is not the vendor's error JSON"],
        ),
        (
            answer(404, {**ERROR, "correlation_id": "another"}, Klarna_Correlation_Id=CORRELATION),
            ["404 body is not the vendor's error JSON"],
        ),
        (
            answer(400, {"error_code": "BAD_VALUE"}, Klarna_Correlation_Id=CORRELATION),
            ["400 body is not the vendor's error JSON"],
        ),
        (
            answer(405, b"Method Not Allowed", Klarna_Correlation_Id=CORRELATION),
            ["405 body is not the vendor's error JSON"],
        ),
    ],
    ids=[
        "200",
        "204",
        "400-vendor-error",
        "404-no-body",
        "401-edge-page",
        "500",
        "no-correlation-id",
        "401-html-without-challenge",
        "other-correlation-id",
        "error-without-messages",
        "405-text",
    ],
)
def test_broken_names_each_rule_an_answer_breaks(response: Response, reasons: list[str]) -> None:
    assert broken(response) == reasons


def test_a_broken_answer_is_reported_with_what_reproduces_it() -> None:
    report = Report()
    for body in ('{"captured_amount": -1}', '{"captured_amount": -2}', "{}", "[]"):
        report.record(
            Finding(
                operation="POST /ordermanagement/v1/orders/{order_id}/captures",
                reasons=["server error 500"],
                status=500,
                method="POST",
                path="/ordermanagement/v1/orders/abc/captures",
                query={},
                headers={"Content-Type": "application/json", "Authorization": "Basic c2VjcmV0"},
                body=body,
                answer='{"error_code":"INTERNAL_ERROR"}',
            )
        )
    report.stats["POST /ordermanagement/v1/orders/{order_id}/captures"] = OperationStats(
        requests=4, statuses=Counter({500: 4})
    )

    text = render(report)

    assert report.server_errors == 4
    assert report.broken == 4
    assert "4 x POST /ordermanagement/v1/orders/{order_id}/captures: server error 500" in text
    # The first EXAMPLES_KEPT requests are kept, whole; credentials are left out.
    assert text.count("  POST /ordermanagement/v1/orders/abc/captures") == EXAMPLES_KEPT
    assert 'body: {"captured_amount": -1}' in text
    assert "Basic c2VjcmV0" not in text
    assert text.endswith("requests: 4, 5xx: 4, broken answers: 4, time: 0.0 s")
