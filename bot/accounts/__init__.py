"""Users and their calendar accounts: identities, connections, calendar choices, tokens."""
