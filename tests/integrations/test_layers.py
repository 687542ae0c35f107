"""Channels only translate: integrations/ imports nothing from bot/ (until import-linter checks every layer)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, anywhere in it (in functions and TYPE_CHECKING blocks too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_integrations_import_nothing_from_bot() -> None:
    files = sorted((ROOT / "integrations").rglob("*.py"))
    assert len(files) >= 10  # the scan really looks at the channels
    upward = [f"{path.relative_to(ROOT)}:{line} imports {module}"
              for path in files for line, module in _imports(path)
              if module == "bot" or module.startswith("bot.")]
    assert upward == []


def test_the_scan_sees_an_upward_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.app import Services\n"
                      "def f():\n    import bot.pipeline\n", encoding="utf-8")
    assert [m for _, m in _imports(sample)] == ["typing", "bot.app", "bot.pipeline"]
