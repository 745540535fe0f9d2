"""Telling people things: the outbox, e-mail and chat notices."""
