"""The channel-neutral conversation core."""
