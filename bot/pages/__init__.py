"""Scheduling pages: what hosts manage, public links, custom domains."""
