"""`python -m dialogues validate` passes on the shipped guides and catches each kind of broken guide."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from dialogues.validate import validate
from kernel.i18n import compile_catalogs
from kernel.settings import ROOT


def test_the_shipped_guides_are_valid() -> None:
    run = subprocess.run([sys.executable, "-m", "dialogues", "validate"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "all guides valid" in run.stdout


def test_every_string_is_translated_in_both_locales(tmp_path: Path) -> None:
    """What `pybabel compile --statistics` reports: every message translated, vi and en."""
    shutil.copytree(ROOT / "locales", tmp_path / "locales")
    stats = compile_catalogs(tmp_path / "locales")
    assert {lang for lang, _, _ in stats} == {"vi", "en"}
    for lang, done, total in stats:
        assert done == total, f"{lang}: {total - done} untranslated"
    with (ROOT / "locales/en/LC_MESSAGES/messages.po").open("rb") as f:
        en = read_po(f, locale="en")
    bilingual = {"Chọn ngôn ngữ / Choose a language:"}  # shown in both languages on purpose
    same = [m.id for m in en if m.id and m.string == m.id and len(str(m.id)) > 30 and m.id not in bilingual]
    assert not same, f"English copies of the Vietnamese text: {same[:3]}"


def _broken_copy(tmp_path: Path) -> tuple[Path, Path]:
    flows, locales = tmp_path / "flows", tmp_path / "locales"
    shutil.copytree(ROOT / "dialogues/flows", flows)
    shutil.copytree(ROOT / "locales", locales)
    return flows, locales


def test_it_reports_each_kind_of_problem(tmp_path: Path) -> None:
    flows, locales = _broken_copy(tmp_path)
    path = flows / "pay_qr.yml"
    text = path.read_text(encoding="utf-8")
    # An unreachable step that loops on itself, and a new untranslated sentence.
    text = text.replace("  - id: confirm\n", "  - id: orphan\n    text: Bước mồ côi chưa dịch.\n    next: orphan\n"
                        "  - id: confirm\n")
    text = text.replace("  - id: check\n", "  - id: check\n    next: confirm\n")
    path.write_text(text, encoding="utf-8")
    (flows / "vneid_face_problem.yml").unlink()  # a task intent without a guide
    menu = flows / "menu.yml"
    menu.write_text(menu.read_text(encoding="utf-8").replace("vneid_face_problem,", ""), encoding="utf-8")
    problems = [str(p) for p in validate(flows, locales, ("vi", "en"), 120)]
    joined = "\n".join(problems)
    assert "step 'orphan': cannot be reached from the first step" in joined
    assert "step 'orphan': never leads to the end of the guide" in joined
    assert "not translated in the 'en' catalog: 'Bước mồ côi chưa dịch.'" in joined
    assert "no guide for the task intent 'vneid_face_problem'" in joined
    assert "more than the limit of 120" in joined  # several steps are longer than 120 characters


def test_unknown_step_target_stops_loading(tmp_path: Path) -> None:
    flows, locales = _broken_copy(tmp_path)
    path = flows / "pay_qr.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("  - id: scan\n", "  - id: scan\n    next: nowhere\n"),
                    encoding="utf-8")
    problems = [str(p) for p in validate(flows, locales, ("vi", "en"), 600)]
    assert len(problems) == 1 and "leads to unknown step 'nowhere'" in problems[0]
