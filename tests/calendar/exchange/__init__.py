"""exchangelib against the fake Exchange (tests/fakes/exchange)."""
