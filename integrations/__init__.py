"""Integrations built on the core: hand-off to village teams, announcements (broadcasts)."""
