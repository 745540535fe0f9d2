"""Visitor pages: the scheduling page, manage links, prefill, the hosts' page admin."""
