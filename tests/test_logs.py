"""Logs are structured and free of secrets."""

from __future__ import annotations

import io
import json
import logging

from bot.logs import JsonFormatter, RedactingFilter, Redactor


def _logger(secrets: list[str]) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_configured_secrets_and_token_shapes_are_redacted() -> None:
    logger, stream = _logger(["super-secret-client"])
    logger.info("calling with %s", "super-secret-client", extra={"auth": "Bearer ya29.abc.def"})
    logger.warning("slack said %s", "xoxb-123-456-abcdef", extra={"user": 7})
    logger.info('token body {"refresh_token": "1//0gabc", "expires_in": 3599}')
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    for leaked in ("super-secret-client", "ya29.abc.def", "xoxb-123", "1//0gabc"):
        assert leaked not in text
    assert lines[0]["message"] == "calling with [redacted]"
    assert lines[1]["user"] == 7 and lines[1]["level"] == "WARNING"
    assert "3599" in lines[2]["message"]


def test_exception_text_is_redacted() -> None:
    logger, stream = _logger(["hunter2-password"])
    try:
        raise RuntimeError("login failed for password hunter2-password")
    except RuntimeError:
        logger.exception("boom")
    entry = json.loads(stream.getvalue())
    assert "RuntimeError" in entry["exception"]
    assert "hunter2-password" not in stream.getvalue()


def test_python_dict_reprs_of_token_responses_are_redacted() -> None:
    logger, stream = _logger([])
    logger.debug("ignored")
    logger.info("response %s", {"access_token": "ya29.secret-access", "refresh_token": "1//0g-refresh",
                               "expires_in": 3599})
    text = stream.getvalue()
    assert "ya29.secret-access" not in text and "1//0g-refresh" not in text
    assert "3599" in text
