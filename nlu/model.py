"""The embedded intent model: TF-IDF over character and word n-grams of normalised text, and a
linear SVM whose scores are calibrated into probabilities (Platt scaling on 3 folds).

Trained with scikit-learn (nlu/training.py) and saved as the plain arrays of `nlu.scorer.Scorer`, so
loading and serving it needs numpy alone. Chosen by measurement (README, "The NLU model"): as accurate
as logistic regression on the held-out set, better calibrated, and several times faster to train.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlu.dataset import DataError, TrainingData
from nlu.normalize import normalize
from nlu.scorer import Scorer

log = logging.getLogger(__name__)
FORMAT = 3  # 3: the exported arrays (nlu.scorer); 2 held the scikit-learn pipeline itself
FULL_COVERAGE = 0.5  # a message of which half the words are known keeps its full confidence


@dataclass
class IntentModel:
    """A trained classifier (as arrays) and what it was trained from."""

    scorer: Scorer
    intents: tuple[str, ...]
    gazetteer: dict[str, dict[str, str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    data_hash: str = ""
    train_seconds: float = 0.0
    format: int = FORMAT

    @classmethod
    def train(cls, data: TrainingData, c: float = 0.5) -> IntentModel:
        from nlu.training import export, fit  # scikit-learn: only to train

        started = time.perf_counter()
        counts = Counter(e.intent for e in data.examples)
        few = sorted(i for i, n in counts.items() if n < 3)
        if few or len(counts) < 2:
            raise DataError(f"every intent needs at least 3 examples, and there must be 2 intents: {few}")
        pipeline = fit([normalize(e.text) for e in data.examples], [e.intent for e in data.examples], c)
        intents = tuple(str(i) for i in pipeline.classes_)
        return cls(export(pipeline), intents, data.entity_values(), data.regexes, data_digest(data),
                   time.perf_counter() - started)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every intent with its probability, best first."""
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        scorer = self.scorer
        probabilities = [scorer.probabilities(normalize(t)) for t in texts]
        if "out_of_scope" in self.intents:
            # Words the model never saw carry no evidence: the less of the message it knows, the more
            # of the probability goes to out_of_scope (garbage, other languages, code, keyboard mash).
            unknown = self.intents.index("out_of_scope")
            for row, text in zip(probabilities, texts, strict=True):
                known = min(1.0, scorer.coverage(normalize(text)) / FULL_COVERAGE)
                row *= known
                row[unknown] += 1.0 - known
        ranked = []
        for row in probabilities:
            order = np.argsort(row)[::-1]
            ranked.append([(self.intents[i], float(row[i])) for i in order])
        return ranked

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        with path.open("rb") as f:
            model = pickle.load(f)
        if isinstance(model, cls) and model.format == 2 and "pipeline" in model.__dict__:
            model = _upgrade(model.__dict__)
        if not isinstance(model, cls) or model.format != FORMAT:
            raise ValueError(f"{path} is not a model of this version; run `python -m nlu train`")
        return model


def _upgrade(old: dict[str, Any]) -> IntentModel:
    """A model file of format 2 (the pickled scikit-learn pipeline, which loading just imported): exported
    to arrays, same scores. Retraining (`python -m nlu train`) saves the lean format."""
    from nlu.training import export

    log.warning("the NLU model file holds a scikit-learn pipeline (format 2): run `python -m nlu train` "
                "so that the server loads without scikit-learn")
    return IntentModel(export(old["pipeline"]), old["intents"], old.get("gazetteer", {}), old.get("regexes", {}),
                       old.get("data_hash", ""), old.get("train_seconds", 0.0))


def data_digest(data: TrainingData) -> str:
    h = hashlib.sha256()
    for e in data.examples:
        h.update(f"{e.intent}\t{e.text}\n".encode())
    return h.hexdigest()[:16]
