"""Booking, moving, cancelling and requesting meetings; the calendar event kept in step."""
