"""The Zalo channel: Official Account API v3 or the Zalo Bot API, webhook or long polling."""
