"""Translations: gettext catalogs under locales/, chosen per resident, compiled with Babel.

Source strings are Vietnamese (the default language); every catalog, Vietnamese
included, carries a translation of each, so `pybabel compile --statistics` shows
both locales complete.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)
DOMAIN = "messages"


class Translator:
    """Translate a message id into one language and fill in its {named} fields."""

    def __init__(self, language: str, translations: NullTranslations) -> None:
        self.language = language
        self._t = translations

    def gettext(self, msgid: str, **params: object) -> str:
        text = self._t.gettext(msgid)
        return text.format_map(params) if params else text

    __call__ = gettext


class Catalogs:
    """The compiled catalogs of every configured language, loaded once at start-up."""

    def __init__(self, locales_dir: Path, languages: Iterable[str], default: str) -> None:
        self.default = default
        self.languages = tuple(languages)
        self._translators: dict[str, Translator] = {}
        for lang in self.languages:
            mo = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"
            if not mo.exists():
                raise FileNotFoundError(
                    f"compiled catalog missing: {mo} (run `make locales` or `python -m bot.i18n compile`)")
            self._translators[lang] = Translator(lang, Translations.load(str(locales_dir), [lang], DOMAIN))

    def get(self, language: str | None) -> Translator:
        return self._translators.get(language or self.default) or self._translators[self.default]

    def negotiate(self, *candidates: str | None) -> str:
        """The first candidate (saved choice, explicit request, platform code) we can serve."""
        for code in candidates:
            lang = self.parse(code)
            if lang:
                return lang
        return self.default

    def parse(self, code: str | None) -> str | None:
        """A language code such as 'en-US' or 'vi_VN' reduced to a language we serve, else None."""
        if not code:
            return None
        try:
            locale = Locale.parse(code.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            return None
        return locale.language if locale.language in self.languages else None


def compile_catalogs(locales_dir: Path, statistics: bool = False) -> list[tuple[str, int, int]]:
    """Compile every locales/<lang>/LC_MESSAGES/messages.po; return (lang, translated, total)."""
    stats = []
    for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=lang)
        real = [m for m in catalog if m.id]
        done = sum(1 for m in real if m.string and not m.fuzzy)
        with po_path.with_suffix(".mo").open("wb") as f:
            write_mo(f, catalog)
        stats.append((lang, done, len(real)))
        if statistics:
            print(f"{lang}: {done} of {len(real)} messages translated")
    return stats


def update_catalogs(root: Path, locales_dir: Path, languages: Iterable[str], source: str = "vi") -> None:
    """Extract every marked string (Python and flow YAML) and merge it into each catalog.

    The source language's catalog gets each string as its own translation; the other
    catalogs keep their translations, and new strings stay empty for a translator.
    """
    from babel.messages.frontend import CommandLineInterface
    from babel.messages.pofile import write_po

    pot = locales_dir / f"{DOMAIN}.pot"
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(root / "babel.cfg"),
                                "-k", "N_", "-k", "tr", "-k", "button:1", "--no-location", "--sort-output",
                                "-o", str(pot), str(root)])
    for lang in languages:
        po = locales_dir / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        cmd = "update" if po.exists() else "init"
        args = ["pybabel", "-q", cmd, "-i", str(pot), "-d", str(locales_dir), "-l", lang, "-D", DOMAIN]
        CommandLineInterface().run(args + (["--no-fuzzy-matching", "--ignore-obsolete"] if cmd == "update" else []))
        if lang == source:
            with po.open("rb") as f:
                catalog = read_po(f, locale=lang)
            for message in catalog:
                if message.id:
                    message.string = message.id
                    message.flags.discard("fuzzy")
            with po.open("wb") as f:
                write_po(f, catalog, omit_header=False, no_location=True, sort_output=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.i18n", description=__doc__)
    parser.add_argument("command", choices=["compile", "update"])
    root = Path(__file__).resolve().parent.parent
    parser.add_argument("--locales", type=Path, default=root / "locales")
    args = parser.parse_args(argv)
    if args.command == "update":
        update_catalogs(root, args.locales, ("vi", "en"))
    stats = compile_catalogs(args.locales, statistics=True)
    missing = [(lang, total - done) for lang, done, total in stats if done < total]
    if missing:
        print("untranslated: " + ", ".join(f"{lang} {n}" for lang, n in missing), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
