"""Channel pacing scaled down for tests: the waits that keep us within Telegram's and Zalo's limits (and the
desk's password hashing: argon2's cheapest parameters, as tests log in hundreds of times).

The defaults (kernel/settings.py) are the real ones: about one message a second to a person and 19 a
minute to a group on Telegram, and 3 s for another process's fresh Zalo token. A test of the
channel's logic does not need to sit through them; the tests of the limits themselves run at the
real pace and are marked `slow`. TEST_PACE_SCALE=1 runs every channel test at the real pace.
"""

from __future__ import annotations

import os
from dataclasses import replace

from kernel.settings import TelegramSettings, ZaloSettings

SCALE = float(os.environ.get("TEST_PACE_SCALE", "0.05"))

_TG = TelegramSettings()
TELEGRAM = replace(_TG, chat_interval_seconds=_TG.chat_interval_seconds * SCALE,
                   group_per_minute=_TG.group_per_minute / SCALE)
ZALO_TOKEN_GRACE = ZaloSettings().token_grace_seconds * SCALE
PASSWORD_PROFILE = "CHEAPEST"  # web.password_profile in tests; tests/bot/staff/test_accounts.py checks the default
