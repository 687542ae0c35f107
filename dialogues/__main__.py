"""`python -m dialogues validate`: check every guide (transitions, menu, both catalogs, step length)."""

from __future__ import annotations

import argparse
import sys

from dialogues.flows import FlowError, load_library
from dialogues.validate import validate
from kernel.commune import CommuneError, load_commune
from kernel.settings import ConfigError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dialogues", description=__doc__)
    parser.add_argument("command", choices=["validate"])
    parser.add_argument("--config", default=None, help="path to config.yml (default: the project's)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
        load_commune(settings.commune_dir)  # the guides name the commune's places: its data must load too
        load_library(settings.flows_dir)  # a guide that cannot load at all stops here, named
    except (ConfigError, FlowError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CommuneError as exc:
        print(f"error: commune data in {settings.commune_dir}: {exc}", file=sys.stderr)
        return 2
    problems = validate(settings.flows_dir, settings.locales_dir, settings.languages, settings.max_step_chars)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    print(f"all guides valid: {settings.flows_dir} in {', '.join(settings.languages)}, "
          f"steps within {settings.max_step_chars} characters")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
