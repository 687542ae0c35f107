"""The assistant's services for tests, built on the project's guides loaded once a test process (frozen values)."""

from __future__ import annotations

from functools import cache

from bot.app import Services, build
from dialogues.flows import Library, load_library
from kernel.settings import ROOT, Settings
from nlu.types import Interpreter

FLOWS = ROOT / "dialogues/flows"


@cache
def project_library() -> Library:
    """The project's guides, loaded once (about 0.2 s of CPU each time otherwise)."""
    return load_library(FLOWS)


def library_for(settings: Settings) -> Library | None:
    """The shared guides when the settings use the project's, else None (build loads them)."""
    return project_library() if settings.flows_dir == FLOWS else None


async def build_services(settings: Settings, interpreter: Interpreter | None = None) -> Services:
    """bot.app.build, with the project's guides shared between tests."""
    return await build(settings, interpreter=interpreter, library=library_for(settings))
