"""A user's (or a group's) availability: fan-out to every calendar, cache, health."""
