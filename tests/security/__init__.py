"""Tests for defects found by probing the running service: each pins one hardening."""
