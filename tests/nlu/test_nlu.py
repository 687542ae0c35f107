"""The embedded NLU: data format, normalisation, entities, the model's accuracy floor, the CLI contract."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import Settings
from nlu.dataset import load, parse_example
from nlu.evaluate import evaluate, read_labelled
from nlu.intents import ENTITIES, INTENTS
from nlu.interpreter import EmbeddedInterpreter
from nlu.normalize import normalize
from nlu.types import Parse

ROOT = Path(__file__).resolve().parents[2]
HELDOUT = ROOT / "nlu" / "eval" / "heldout.jsonl"
GARBAGE = ROOT / "nlu" / "eval" / "garbage.txt"


# --- training data ---------------------------------------------------------------

def test_annotations_become_spans_of_the_plain_text() -> None:
    ex = parse_example('tôi ở [Đông Lỗ](village), nộp tiền [nước]{"entity": "bill_type", "value": "nước"} '
                       'và [tiếng Anh](language:en)', "x")
    assert ex.text == "tôi ở Đông Lỗ, nộp tiền nước và tiếng Anh"
    assert [(e.entity, e.value, ex.text[e.start:e.end]) for e in ex.entities] == [
        ("village", "Đông Lỗ", "Đông Lỗ"), ("bill_type", "nước", "nước"), ("language", "en", "tiếng Anh")]


def test_training_data_covers_every_intent_and_entity_of_the_contract() -> None:
    data = load(ROOT / "nlu" / "data")
    counts = {i: sum(e.intent == i for e in data.examples) for i in INTENTS}
    assert min(counts.values()) >= 25, {i: n for i, n in counts.items() if n < 25}
    annotated = {e.entity for ex in data.examples for e in ex.entities}
    assert {"service", "bill_type", "language", "village"} <= annotated
    assert {"phone_number", "id_number", "otp_code"} <= set(data.regexes)
    assert set(ENTITIES) <= annotated | set(data.regexes)
    for ex in data.examples:
        for e in ex.entities:
            assert 0 <= e.start < e.end <= len(ex.text)


def test_no_example_is_taught_as_two_intents() -> None:
    data = load(ROOT / "nlu" / "data")
    seen: dict[str, str] = {}
    clashes = []
    for ex in data.examples:
        key = normalize(ex.text)
        if seen.setdefault(key, ex.intent) != ex.intent:
            clashes.append((ex.text, seen[key], ex.intent))
    assert not clashes


# --- normalisation ----------------------------------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("Lam sao DANG KY VNeID???", "lam sao dang ky vneid"),
    ("Làm sao ĐĂNG KÝ VNeID???", "lam sao dang ky vneid ~làm ~đăng ~ký"),
    ("ko dc j ca", "khong duoc gi ca"),
    ("cai app ntn", "cai ung dung nhu the nao"),
    ("ma la [otp] a", "ma la mamotlan a"),
    ("helloooooo", "helloo"),
    ("Dừng lại đi", "dung lai di ~dừng ~lại ~đi"),
    ("a\u200bb\u0000c", "ab c"),
])
def test_normalize(typed: str, expected: str) -> None:
    assert normalize(typed) == expected


# --- the trained model ------------------------------------------------------------

def test_heldout_accuracy_stays_above_the_floor(interpreter: EmbeddedInterpreter) -> None:
    cases = read_labelled(HELDOUT)
    assert {c.intent for c in cases} == set(INTENTS)
    report = evaluate(cases, [interpreter.parse_sync(c.text).intent for c in cases])
    assert report["accuracy"] >= 0.92, report["confused"]
    assert set(report["by_style"]) == {"diacritics", "no_diacritics", "typo", "teencode", "english", "long"}
    for style, figures in report["by_style"].items():
        assert figures["accuracy"] >= 0.88, (style, figures)


@pytest.mark.parametrize("text, intent", [
    ("lam sao dang ky vneid", "vneid_register"),
    ("ko nhận đc mã kích hoạt", "vneid_activation_code"),
    ("quét chip căn cước mãi không được", "vneid_nfc_problem"),
    ("I want to talk to a real person", "human_handoff"),
    ("cảm ơn cháu nhiều nhé", "thank"),
    ("xong rồi", "affirm"),
    ("dừng lại", "cancel"),  # folds to "dung lai", like "đúng lại": the diacritics decide
    ("đúng rồi", "affirm"),
    ("stop", "cancel"),
    ("có người gọi bảo tôi đọc mã OTP cho họ", "report_scam"),
])
def test_typical_messages(interpreter: EmbeddedInterpreter, text: str, intent: str) -> None:
    assert interpreter.parse_sync(text).intent == intent


GARBAGE_INPUTS = ["", " ", "\n\t", "😀😀😀", "🙏", "\u200b\u200c\u200d\ufeff", "\x00\x01\x07\x1b[31m",
                  "x" * 10_000, "ạ" * 10_000, "Привет 你好 สวัสดี مرحبا", "?!?!...", "12345678",
                  "http://bit.ly/abc", "\ud7ff\ue000\U0010ffff"]


@pytest.mark.parametrize("text", GARBAGE_INPUTS + (GARBAGE.read_text(encoding="utf-8").splitlines()
                                                   if GARBAGE.exists() else []))
def test_garbage_parses_to_low_confidence_or_out_of_scope(interpreter: EmbeddedInterpreter, settings: Settings,
                                                          text: str) -> None:
    parse = interpreter.parse_sync(text)
    assert parse.intent == "out_of_scope" or parse.confidence < settings.nlu.threshold, parse
    json.dumps(parse.as_dict(), ensure_ascii=False)


# --- entities -----------------------------------------------------------------------

def _value(parse: Parse, name: str) -> str | None:
    entity = parse.entity(name)
    return entity.value if entity else None


def test_village_found_without_diacritics_and_with_a_typo(interpreter: EmbeddedInterpreter) -> None:
    for text in ("tôi ở Đông Lỗ", "toi o dong lo", "nha o dong loo", "e ở thôn Trầm Lộng"):
        parse = interpreter.parse_sync(text)
        village = parse.entity("village")
        assert village is not None, text
        assert text[village.start:village.end].lower().startswith(("đông", "dong", "trầm"))
    assert _value(interpreter.parse_sync("toi o dong lo"), "village") == "Đông Lỗ"


def test_numbers_and_services_with_spans(interpreter: EmbeddedInterpreter) -> None:
    text = "sdt 0912345678, cccd 001203004005, mã 483920, làm khai sinh và đóng tiền điện"
    parse = interpreter.parse_sync(text)
    found = {(e.entity, text[e.start:e.end]) for e in parse.entities}
    assert {("phone_number", "0912345678"), ("id_number", "001203004005"), ("otp_code", "483920")} <= found
    assert parse.entity("service") is not None and parse.entity("bill_type") is not None
    assert _value(parse, "bill_type") == "điện"


def test_language_entity(interpreter: EmbeddedInterpreter) -> None:
    assert _value(interpreter.parse_sync("chuyển sang tiếng Anh"), "language") == "en"
    assert _value(interpreter.parse_sync("switch to Vietnamese please"), "language") == "vi"


# --- the command line contract -----------------------------------------------------

def _nlu(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "nlu", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


@pytest.mark.slow
def test_parse_command_one_json_object_per_line() -> None:
    done = _nlu("parse", stdin="lam sao dang ky vneid\n\ntôi ở Đông Lỗ\n")
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 3
    assert rows[0]["intent"] == "vneid_register" and 0 < rows[0]["confidence"] <= 1
    assert set(rows[0]) == {"text", "intent", "confidence", "entities"}
    assert rows[2]["entities"][0] == {"entity": "village", "value": "Đông Lỗ", "start": 6, "end": 13}


@pytest.mark.slow
def test_parse_without_a_model_fails_clearly(tmp_path: Path) -> None:
    done = _nlu("parse", "--model", str(tmp_path / "none.pkl"), stdin="xin chào\n")
    assert done.returncode != 0
    assert "python -m nlu train" in done.stderr and done.stdout == ""


@pytest.mark.slow
def test_evaluate_command_reports_by_style(tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "xin chào", "intent": "greet", "style": "diacritics"},
        {"text": "thanks a lot", "intent": "thank", "style": "english"},
        {"text": "dang ky vneid the nao", "intent": "vneid_register", "style": "no_diacritics"}]), encoding="utf-8")
    done = _nlu("evaluate", str(sample), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["n"] == 3 and set(report["by_style"]) == {"diacritics", "english", "no_diacritics"}
    assert 0 <= report["accuracy"] <= 1 and "per_intent" in report and "confused" in report


@pytest.mark.slow
def test_training_is_reproducible(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - xin chào\n'
                                "    - hello\n    - alo\n    - chào bạn\n    - hi there\n"
                                "- intent: thank\n  examples: |\n    - cảm ơn\n"
                                "    - thanks\n    - tks\n    - cảm ơn nhiều\n    - thank you so much\n",
                                encoding="utf-8")
    out = tmp_path / "m.pkl"
    assert _nlu("train", "--data", str(data), "--out", str(out)).returncode == 0
    done = _nlu("parse", "--model", str(out), stdin="thanks\nxin chào\n")
    assert [json.loads(line)["intent"] for line in done.stdout.splitlines()] == ["thank", "greet"]
    (data / "a.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n', encoding="utf-8")
    refused = _nlu("train", "--data", str(data), "--out", str(tmp_path / "n.pkl"))
    assert refused.returncode == 2 and "at least 3 examples" in refused.stderr


@pytest.mark.slow
def test_evaluate_rejects_a_malformed_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n', encoding="utf-8")
    done = _nlu("evaluate", str(bad))
    assert done.returncode == 2 and "bad.jsonl:1" in done.stderr


def test_evaluate_counts() -> None:
    from nlu.evaluate import Case
    report = evaluate([Case("a", "greet", "x"), Case("b", "thank", "x"), Case("c", "thank", "y")],
                      ["greet", "greet", "thank"])
    assert report["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert report["by_style"] == {"x": {"accuracy": 0.5, "n": 2}, "y": {"accuracy": 1.0, "n": 1}}
    assert report["confused"] == [{"gold": "thank", "predicted": "greet", "count": 1}]


def test_unknown_words_move_confidence_to_out_of_scope(interpreter: EmbeddedInterpreter) -> None:
    known = interpreter.parse_sync("đăng ký vneid")
    # More unknown words than known ones (typed diacritics count twice: "~đăng" beside "dang").
    diluted = interpreter.parse_sync("đăng ký vneid qwzx plokm brrtz vvkkq zzxq wqpt")
    assert known.intent == "vneid_register"
    assert diluted.confidence < known.confidence
    assert interpreter.parse_sync("qwzx plokm brrtz").intent == "out_of_scope"
