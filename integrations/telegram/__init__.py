"""The Telegram channel: python-telegram-bot updates in, replies out; staff groups; rate limits."""
