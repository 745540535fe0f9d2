"""The ``slotbot`` command line."""
