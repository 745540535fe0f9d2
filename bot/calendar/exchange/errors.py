"""What exchangelib raises, in Slotbot's words: retryable answers and :class:`CalendarError` s.

exchangelib (with the fail-fast policy, :class:`MeasuredFailFast`) raises an exception for every
failure; :func:`classify` turns one into either a :class:`~bot.calendar.http.StatusError` (so the
shared :class:`~bot.calendar.http.RetryPolicy` retries throttling and server errors the same
bounded way as every provider, and maps a 401 to "needs re-auth") or a final
:class:`~bot.calendar.base.CalendarError`:

=======================================================  =========================================
exchangelib                                              Slotbot
=======================================================  =========================================
``UnauthorizedError`` (401, account locked out)          401 -> :class:`ReauthRequired`
HTTP 429, 5xx (:class:`MeasuredFailFast` keeps status)   429 / 5xx with the server's ``Retry-After``
``ErrorServerBusy`` (EWS throttling, ``back_off``)       429 with that ``Retry-After``
``ErrorInternalServerError`` (a SOAP fault)              500
``ErrorInternalServerTransientError``                    503
``ErrorAccessDenied``, ``ErrorFolderNotFound``,          :class:`AccessLost` (that calendar only)
``ErrorNonExistentMailbox``, ``ErrorNoFreeBusyAccess``
``ErrorItemNotFound``, ``ErrorInvalidIdMalformed``       404 (``missing_ok``: already gone)
``ErrorTimeoutExpired`` from a timeout                   :class:`ProviderTimeout`
``ErrorTimeoutExpired`` from a refused connection,       :class:`ProviderUnavailable`
``TransportError`` (TLS, DNS)
an address the SSRF policy refuses                       :class:`AddressRefused`
anything else (``MalformedResponseError``...)            :class:`ProviderUnavailable`
=======================================================  =========================================

exchangelib's messages can hold the server's headers and body (``MalformedResponseError``) or a
URL: none of them is ever put into a Slotbot message, only the EWS error code or class name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import requests
from exchangelib.errors import (
    EWSError,
    MalformedResponseError,
    ResponseMessageError,
    UnauthorizedError,
)
from exchangelib.protocol import FailFast

from bot.calendar.base import AccessLost, CalendarError, ProviderTimeout, ProviderUnavailable
from bot.calendar.http import ErrorVocabulary, StatusError
from bot.calendar.ssrf import AddressRefused

VOCABULARY = ErrorVocabulary(service="Exchange")

LOST_CODES = frozenset({
    "ErrorAccessDenied", "ErrorFolderNotFound", "ErrorNonExistentMailbox", "ErrorNoFreeBusyAccess",
    "ErrorMailRecipientNotFound", "ErrorImpersonateUserDenied", "ErrorProxyRequestNotAllowed",
})
"""EWS codes meaning this calendar (or mailbox) cannot be read by this account."""
GONE_CODES = frozenset({
    "ErrorItemNotFound", "ErrorInvalidIdMalformed", "ErrorInvalidIdNotAnItemAttachmentId",
})
"""EWS codes meaning the item asked for does not exist (deleting it again is no error)."""
BUSY_CODES = frozenset({"ErrorServerBusy", "ErrorInternalServerTransientError", "ErrorTooManyObjectsOpened"})
"""EWS codes asking the client to come back later."""

_STATUS = re.compile(r"Code: (\d{3})\b")


class MeasuredFailFast(FailFast):  # type: ignore[misc]
    """exchangelib's fail-fast policy that remembers the HTTP status and ``Retry-After``.

    exchangelib folds several statuses (429, 502...) into a ``MalformedResponseError`` whose
    message holds the whole response; the status and header are kept on the exception instead
    (``slotbot_status``, ``slotbot_retry_after``) so nothing needs to read that message.
    """

    def raise_response_errors(self, response: Any) -> None:
        """Raise exchangelib's error for ``response``, annotated with its status."""
        try:
            super().raise_response_errors(response)
        except Exception as exc:
            exc.slotbot_status = response.status_code  # type: ignore[attr-defined]
            exc.slotbot_retry_after = response.headers.get("Retry-After")  # type: ignore[attr-defined]
            raise


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def code_of(exc: BaseException) -> str:
    """The EWS response code of ``exc`` (its class name for exchangelib's own errors)."""
    return type(exc).__name__


def classify(exc: BaseException) -> StatusError | CalendarError:
    """Slotbot's reading of an exception exchangelib raised (see the module's table)."""
    for link in _chain(exc):
        if isinstance(link, AddressRefused):
            return link
        if isinstance(link, CalendarError):
            return link
        if isinstance(link, requests.Timeout | TimeoutError):
            return ProviderTimeout("Exchange did not answer in time.")
    code = code_of(exc)
    # exchangelib re-raises some errors as others (a 503 becomes ErrorServerBusy with its own
    # back-off guess): the HTTP answer is on whichever exception in the chain saw the response.
    measured = next((link for link in _chain(exc) if hasattr(link, "slotbot_status")), None)
    status = getattr(measured, "slotbot_status", None)
    retry_after = getattr(measured, "slotbot_retry_after", None)
    if isinstance(exc, UnauthorizedError):
        return StatusError(401, reasons=["Unauthorized"])
    if isinstance(status, int) and (status == 429 or status >= 500):
        # The HTTP answer itself (exchangelib's own back-off guess for a 503 is not the server's).
        return StatusError(status, reasons=[code], retry_after=retry_after)
    if code == "ErrorServerBusy":  # EWS throttling inside a SOAP answer: BackOffMilliseconds
        back_off = getattr(exc, "back_off", None)
        return StatusError(429, reasons=[code], retry_after=None if back_off is None else f"{back_off:g}")
    if code == "ErrorInternalServerError":
        return StatusError(500, reasons=[code])
    if isinstance(exc, MalformedResponseError):
        found = _STATUS.search(str(exc))
        if found and (found.group(1) == "429" or found.group(1).startswith("5")):
            return StatusError(int(found.group(1)), reasons=[code])
        return ProviderUnavailable("Exchange answered with something that is not an EWS response.")
    if code in BUSY_CODES:
        return StatusError(503, reasons=[code], retry_after=retry_after)
    if code in LOST_CODES:
        return AccessLost(f"Exchange refused access to this calendar ({code}).")
    if code in GONE_CODES:
        return StatusError(404, reasons=[code])
    if code == "ErrorTimeoutExpired":
        text = str(exc)
        if "Timeout" in text:
            return ProviderTimeout("Exchange did not answer in time.")
        return ProviderUnavailable("The Exchange server could not be reached.")
    if isinstance(exc, ResponseMessageError | EWSError):
        return ProviderUnavailable(f"Exchange refused the request ({code}).")
    return ProviderUnavailable(f"Exchange could not be read ({code}).")
