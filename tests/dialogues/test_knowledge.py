"""The knowledge base: loading and validating dialogues/knowledge/, its faq_ intents, its catalog entries."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from dialogues.extract import extract_knowledge
from dialogues.knowledge import KnowledgeError, load_knowledge, sentences
from dialogues.validate import load_catalogs, validate
from kernel.settings import ROOT

KNOWLEDGE = ROOT / "dialogues" / "knowledge"


def test_the_shipped_knowledge_base_loads_with_sources_and_short_answers() -> None:
    kb = load_knowledge(KNOWLEDGE)
    assert 30 <= len(kb.entries) <= 60
    for entry in kb.entries.values():
        assert entry.source or entry.to_confirm, entry.id
        assert 1 <= sentences(entry.answer) <= 3, entry.id
    fee = kb.get("faq_judicial_record_fee")
    assert fee is not None and "200.000" in fee.answer and fee.source == ("S20",)
    hotline = kb.get("vneid_hotline")
    assert hotline is not None and "1900 0368" in hotline.answer and "4" in hotline.answer
    # Where the brief says "verify", the answer says so.
    for entry in kb.entries.values():
        if entry.to_confirm:
            assert any(w in entry.answer for w in ("kiểm tra", "xác nhận", "hỏi", "đối chiếu")), entry.id


def test_every_answer_is_translated_in_both_catalogs() -> None:
    catalogs = load_catalogs(ROOT / "locales", ("vi", "en"))
    for entry in load_knowledge(KNOWLEDGE).entries.values():
        assert catalogs["vi"][entry.answer] == entry.answer
        assert catalogs["en"][entry.answer] and catalogs["en"][entry.answer] != entry.answer, entry.id


@pytest.mark.parametrize("text, count", [
    ("Phí là 200.000 đồng. Xem trên dichvucong.gov.vn.", 2),
    ("Gọi 1900 0368, bấm phím 4.", 1),
    ("Một. Hai! Ba? 4 là bốn.", 4),
    ("", 0),
])
def test_sentences_are_counted_without_splitting_numbers_or_addresses(text: str, count: int) -> None:
    assert sentences(text) == count


@pytest.mark.parametrize("yaml_text, message", [
    ("- id: a\n  answer: Một câu.\n", "needs its source"),
    ("- id: a\n  source: [S1]\n  answer: Một. Hai. Ba. Bốn.\n", "at most 3"),
    ("- id: a\n  source: [source 1]\n  answer: Một.\n", "brief ids"),
    ("- id: Bad-Id\n  source: [S1]\n  answer: Một.\n", "lower_snake_case"),
    ("- id: a\n  source: [S1]\n  answer: Một.\n  extra: 1\n", "unknown keys"),
    ("- id: a\n  source: [S1]\n", "answer is missing"),
    ("- id: a\n  source: [S1]\n  kind: price\n  answer: Một.\n", "kind must be one of fee, time"),
    ("- id: a\n  source: [S1]\n  answer: Một.\n- id: a\n  source: [S2]\n  answer: Hai.\n", "already used"),
])
def test_broken_entries_stop_loading_with_the_file_and_entry(tmp_path: Path, yaml_text: str, message: str) -> None:
    (tmp_path / "x.yml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(KnowledgeError, match=message) as exc:
        load_knowledge(tmp_path)
    assert "x.yml" in str(exc.value)


def test_to_confirm_allows_an_entry_without_source(tmp_path: Path) -> None:
    (tmp_path / "x.yml").write_text("- id: a\n  to_confirm: true\n  answer: Cần kiểm tra lại.\n", encoding="utf-8")
    assert load_knowledge(tmp_path).get("faq_a") is not None


def test_validate_pairs_entries_with_faq_intents(tmp_path: Path) -> None:
    knowledge, data = tmp_path / "knowledge", tmp_path / "data"
    shutil.copytree(KNOWLEDGE, knowledge)
    shutil.copytree(ROOT / "nlu" / "data", data)
    flows, locales = ROOT / "dialogues" / "flows", ROOT / "locales"
    assert validate(flows, locales, ("vi", "en"), 600, knowledge, data) == []
    (knowledge / "extra.yml").write_text("- id: lonely\n  source: [S1]\n  flows: [no_such_guide]\n"
                                         "  answer: Câu chưa dịch.\n", encoding="utf-8")
    faq = data / "faq.yml"
    orphan = "\n- intent: faq_orphan\n  examples: |\n    - a\n    - b\n    - c\n"
    faq.write_text(faq.read_text(encoding="utf-8") + orphan, encoding="utf-8")
    joined = "\n".join(str(p) for p in validate(flows, locales, ("vi", "en"), 600, knowledge, data))
    assert "no NLU examples for the intent 'faq_lonely'" in joined
    assert "unknown guide 'no_such_guide'" in joined
    assert "not translated in the 'en' catalog: 'Câu chưa dịch.'" in joined
    assert "intent 'faq_orphan' has no knowledge-base entry 'orphan'" in joined


def test_the_extractor_yields_each_answer_for_the_catalogs() -> None:
    path = KNOWLEDGE / "services.yml"
    found = [text for _, _, text, _ in extract_knowledge(io.BytesIO(path.read_bytes()), None, None, None)]
    assert found == [e.answer for e in load_knowledge([path]).entries.values()]
