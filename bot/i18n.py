"""`python -m bot.i18n update | compile`: extract the strings into the catalogs and compile them."""

from kernel.i18n import main

if __name__ == "__main__":
    raise SystemExit(main())
