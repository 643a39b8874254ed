"""Which failed deliveries of an alert digest are worth sending again later."""

import smtplib

import httpx
import pytest

from cchc.gateway.alerts.channels import worth_retrying


def _http(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://nhan.example.vn/cchc")
    return httpx.HTTPStatusError("x", request=request, response=httpx.Response(status,
                                                                               request=request))


@pytest.mark.parametrize(("error", "again"), [
    (_http(500), True), (_http(503), True), (_http(408), True), (_http(429), True),
    (_http(400), False), (_http(401), False), (_http(404), False),
    (httpx.ConnectError("refused"), True), (httpx.ReadTimeout("slow"), True),
    (ConnectionRefusedError(111, "refused"), True), (TimeoutError(), True),
    (smtplib.SMTPServerDisconnected("gone"), True),
    (smtplib.SMTPDataError(451, b"try later"), True),
    (smtplib.SMTPDataError(554, b"rejected"), False),
    (smtplib.SMTPAuthenticationError(535, b"bad login"), False),
    (smtplib.SMTPRecipientsRefused({"a@x.vn": (450, b"busy")}), True),
    (smtplib.SMTPRecipientsRefused({"a@x.vn": (450, b"busy"), "b@x.vn": (550, b"no")}), False),
    (ValueError("a bug"), False),
])
def test_passing_failures_are_retried_refusals_are_not(error: BaseException, again: bool) -> None:
    assert worth_retrying(error) is again
