"""Integrations built on the turn pipeline: hand-off to village teams, broadcasts."""
