"""Effects: what a turn asks the pipeline to do, as values (dialogue code does no I/O)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SetLanguage:
    language: str


@dataclass(frozen=True)
class SetVillage:
    village: str  # village code


@dataclass(frozen=True)
class Handoff:
    """Open a case for the village's community tech team.

    `village` is the village the case is routed by (the resident's, or the one they just chose in the
    same turn), so routing does not depend on another effect having run first."""

    reason: str  # "asked" | "stuck" | "misunderstood"
    flow: str | None = None
    step: str | None = None
    village: str | None = None


@dataclass(frozen=True)
class Subscribe:
    village: str


@dataclass(frozen=True)
class Unsubscribe:
    pass


@dataclass(frozen=True)
class ShowMyData:
    pass


@dataclass(frozen=True)
class ForgetMe:
    pass


@dataclass(frozen=True)
class Track:
    """An analytics event (never message text): flow_start, step, stuck, complete, cancel, handoff."""

    kind: str
    flow: str | None = None
    step: str | None = None


Effect = SetLanguage | SetVillage | Handoff | Subscribe | Unsubscribe | ShowMyData | ForgetMe | Track
