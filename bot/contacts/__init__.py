"""Contacts: the host's contact directory, its CSV import, the meetings on a record, tasks."""
