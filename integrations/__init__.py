"""The outside platforms behind the kernel's ports: Telegram, Zalo and the web chat."""
