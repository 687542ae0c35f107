"""Natural-language understanding: what a resident's message means."""
