"""Whom Slotbot trusts for TLS to calendar servers: the system store, plus one optional CA file.

:func:`trust_context` is the one place a client context for user-given servers (Exchange EWS,
CalDAV, ICS feeds) is made. It starts from the system store (``ssl.create_default_context``, which
honours ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), not certifi, so an operator's trust applies; an
extra CA bundle (``SLOTBOT_EXTRA_CA_FILE``: a company CA for on-premises servers, the demo's
self-signed certificate) is added on top. Verification and host-name checks stay on.
"""

from __future__ import annotations

import ssl


def trust_context(extra_ca_file: str | None = None) -> ssl.SSLContext:
    """A client context trusting the system store and, when given, the CAs in ``extra_ca_file`` (PEM).

    Raises ``OSError`` when the file cannot be read and ``ssl.SSLError`` when it holds no
    certificate.
    """
    context = ssl.create_default_context()
    if extra_ca_file:
        context.load_verify_locations(cafile=extra_ca_file)
    return context
