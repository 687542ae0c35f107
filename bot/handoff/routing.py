"""Which team gets a case (by thôn, its former commune, else the fallback team) and when it is at work.

The types live with the commune's data (kernel.commune.teams): teams.yml is parsed and checked there.
"""

from __future__ import annotations

from kernel.commune.teams import ALWAYS, DAYS, Hours, Team, Teams

__all__ = ["ALWAYS", "DAYS", "Hours", "Team", "Teams"]
