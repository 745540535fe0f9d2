"""Persistence: models, engine, encryption of secrets, migrations."""
