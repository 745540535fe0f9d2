"""Calendar sync: events with known contacts become meeting engagements on their records (S12)."""
