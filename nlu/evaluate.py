"""Evaluation of any backend on a labelled JSONL file: {"text", "intent", optional "style"} per line."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Case:
    text: str
    intent: str
    style: str | None = None


def read_labelled(path: Path) -> list[Case]:
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            cases.append(Case(str(row["text"]), str(row["intent"]), row.get("style")))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: not a labelled example ({exc})") from None
    if not cases:
        raise ValueError(f"{path}: no examples")
    return cases


def evaluate(cases: list[Case], predicted: list[str]) -> dict[str, Any]:
    # Imported here: scikit-learn's metrics take 0.8 s of CPU to import, which `python -m nlu parse` need not pay.
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    gold = [c.intent for c in cases]
    labels = sorted(set(gold))
    precision, recall, f1, support = precision_recall_fscore_support(gold, predicted, labels=labels,
                                                                     zero_division=0)
    per_intent = {label: {"precision": round(float(p), 3), "recall": round(float(r), 3), "f1": round(float(f), 3),
                          "support": int(s)}
                  for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)}
    confused = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    by_style: dict[str, dict[str, float]] = {}
    for style in sorted({c.style for c in cases if c.style}):
        idx = [i for i, c in enumerate(cases) if c.style == style]
        by_style[style] = {"accuracy": round(sum(gold[i] == predicted[i] for i in idx) / len(idx), 4),
                           "n": len(idx)}
    errors = [{"text": c.text, "intent": c.intent, "predicted": p, "style": c.style}
              for c, p in zip(cases, predicted, strict=True) if c.intent != p]
    return {
        "n": len(cases),
        "accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "macro_f1": round(float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)), 4),
        "by_style": by_style,
        "per_intent": per_intent,
        "confused": [{"gold": g, "predicted": p, "count": n} for (g, p), n in confused.most_common(15)],
        "errors": errors,
    }


def format_report(report: dict[str, Any]) -> str:
    lines = [f"examples  {report['n']}", f"accuracy  {report['accuracy']:.3f}",
             f"macro-F1  {report['macro_f1']:.3f}", ""]
    if report["by_style"]:
        lines.append("by style")
        lines += [f"  {style:<14} {v['accuracy']:.3f}  (n={v['n']})" for style, v in report["by_style"].items()]
        lines.append("")
    lines.append(f"{'intent':<26} {'prec':>5} {'rec':>5} {'f1':>5} {'n':>4}")
    for intent, v in report["per_intent"].items():
        lines.append(f"{intent:<26} {v['precision']:>5.2f} {v['recall']:>5.2f} {v['f1']:>5.2f} {v['support']:>4}")
    if report["confused"]:
        lines += ["", "most confused (gold -> predicted)"]
        lines += [f"  {c['gold']} -> {c['predicted']}: {c['count']}" for c in report["confused"]]
    return "\n".join(lines)
