"""Which failed deliveries of an alert digest are worth sending again later."""

import smtplib
import ssl

import httpx
import pytest

from cchc.gateway.alerts.channels import worth_retrying


def _http(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "https://nhan.example.vn/cchc")
    return httpx.HTTPStatusError("x", request=request, response=httpx.Response(status,
                                                                               request=request))


def _wrapped(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause  # as httpx raises its ConnectError from ssl's
    return error


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
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), False),
    (_wrapped(httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"),
              ssl.SSLCertVerificationError(1, "certificate verify failed")), False),
])
def test_passing_failures_are_retried_refusals_are_not(error: BaseException, again: bool) -> None:
    assert worth_retrying(error) is again


def test_a_mornings_steps_follow_the_delays_then_end() -> None:
    """A first delivery waits the setting's first delay, each retry the next one left; with
    nothing failed, or no delay left, the job is done."""
    from datetime import date

    from cchc.gateway.alerts.morning_job import LEASE_S, MorningJob, next_step

    first = MorningJob(day=date(2022, 7, 15), by="r", lease_until=0.0, step="deliver")
    failed = {("SNV", "webhook"), ("STTTT", "email")}

    again = next_step(first, failed, [60.0, 300.0, 900.0], now=1000.0)
    assert (again.step, again.next_at, again.delays) == ("again", 1060.0, [300.0, 900.0])
    assert again.again == [("SNV", "webhook"), ("STTTT", "email")]
    assert again.lease_until == 1060.0 + LEASE_S  # held through the wait, then some

    second = next_step(again, {("SNV", "webhook")}, [1.0], now=2000.0)  # the setting: unused
    assert (second.step, second.next_at, second.delays) == ("again", 2300.0, [900.0])
    assert second.again == [("SNV", "webhook")]

    third = next_step(second, {("SNV", "webhook")}, [], now=3000.0)
    last = next_step(third, {("SNV", "webhook")}, [], now=4000.0)  # no delay left: given up
    assert (third.step, last.step, last.again) == ("again", "done", [])

    assert next_step(first, set(), [60.0], now=1000.0).step == "done"
    assert next_step(first, failed, [], now=1000.0).step == "done"  # no retries configured
