"""What exchangelib raises, read as Slotbot's errors (safe messages, the shared retry statuses)."""

from __future__ import annotations

import pytest
import requests
from exchangelib import errors as ews

from bot.calendar.base import AccessLost, ProviderTimeout, ProviderUnavailable, ReauthRequired
from bot.calendar.exchange.credentials import (
    ExchangeCredentials,
    dump_credentials,
    load_credentials,
)
from bot.calendar.exchange.errors import classify
from bot.calendar.http import StatusError


def _raised_from(cause: BaseException, error: Exception) -> Exception:
    try:
        try:
            raise cause
        except BaseException:
            raise error  # noqa: B904 - exchangelib re-raises like this
    except Exception as exc:
        return exc


def test_a_refused_password_is_401_and_a_throttle_keeps_its_back_off() -> None:
    unauthorized = classify(ews.UnauthorizedError("Invalid credentials for https://mail.example.com/EWS"))
    assert isinstance(unauthorized, StatusError) and unauthorized.status == 401
    busy = classify(ews.ErrorServerBusy("busy", back_off=7))
    assert isinstance(busy, StatusError) and busy.status == 429 and busy.retry_after == "7"
    transient = classify(ews.ErrorInternalServerTransientError("Caused by HTTP 503 response"))
    assert isinstance(transient, StatusError) and transient.status == 503


def test_a_status_kept_by_the_policy_wins_and_bodies_never_reach_the_message() -> None:
    body = "Unknown failure in response. Code: 502 headers: {'Set-Cookie': 'secret=1'} content: <html>secret"
    error = ews.MalformedResponseError(body)
    error.slotbot_status, error.slotbot_retry_after = 502, "3"  # type: ignore[attr-defined]
    found = classify(error)
    assert isinstance(found, StatusError) and (found.status, found.retry_after) == (502, "3")
    assert "secret" not in str(found)
    plain = classify(ews.MalformedResponseError("Unknown failure. Code: 404 headers: {'X': 'secret'}"))
    assert isinstance(plain, ProviderUnavailable) and "secret" not in str(plain)


@pytest.mark.parametrize(
    "error", [ews.ErrorAccessDenied("x"), ews.ErrorFolderNotFound("x"), ews.ErrorNonExistentMailbox("x")]
)
def test_lost_access_is_access_lost(error: Exception) -> None:
    found = classify(error)
    assert isinstance(found, AccessLost) and type(error).__name__ in str(found)


def test_a_missing_item_is_404_and_timeouts_differ_from_unreachable() -> None:
    gone = classify(ews.ErrorItemNotFound("x"))
    assert isinstance(gone, StatusError) and gone.status == 404
    timeout = classify(_raised_from(requests.ReadTimeout("slow"), ews.ErrorTimeoutExpired("Reraised")))
    assert isinstance(timeout, ProviderTimeout)
    refused = classify(_raised_from(requests.ConnectionError("refused"), ews.ErrorTimeoutExpired("Reraised")))
    assert type(refused) is ProviderUnavailable


def test_credentials_round_trip_and_keep_the_password_out_of_repr() -> None:
    stored = ExchangeCredentials(email="hannah@example.com", password="s3cret!", ews_url="https://x/EWS/Exchange.asmx",
                                 username="CORP\\hannah", auth_type="basic", version="15.1.2507.6")
    assert load_credentials(dump_credentials(stored)) == stored
    assert "s3cret" not in repr(stored)
    assert stored.sign_in_name == "CORP\\hannah"
    for broken in ("", "{}", '{"v": 1}', dump_credentials(stored).replace('"basic"', '"kerberos"')):
        with pytest.raises(ReauthRequired) as raised:
            load_credentials(broken)
        assert "s3cret" not in str(raised.value)
