"""What a channel's sender counted: messages a platform accepted or refused, and its flood-limit answers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DeliveryCount:
    """Counts since the process started (read by the server's /metrics)."""

    platform: str
    delivered: int = 0
    failed: int = 0  # refused for good or after the retries (the caller may try again later)
    rate_limited: int = 0  # 429 answers, including those waited out and retried


__all__ = ["DeliveryCount"]
