"""The web chat channel: the HTTP API and the chat page."""
