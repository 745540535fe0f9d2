"""The local demo: data folder, key, seeding, serving."""
