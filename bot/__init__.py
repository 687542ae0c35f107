"""Trợ lý số: the commune's digital assistant (engine, storage and channels)."""
