"""The embedded intent model: TF-IDF over character and word n-grams of normalised text, and a
linear classifier. Small (a few MB), trains in seconds, parses in about a millisecond."""

from __future__ import annotations

import hashlib
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline

from nlu.dataset import TrainingData
from nlu.normalize import normalize

FORMAT = 1


def _features() -> FeatureUnion:
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1,
                                  lowercase=False, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=False,
                                  token_pattern=r"\S+", dtype=np.float32)),
    ])


@dataclass
class IntentModel:
    """A trained classifier and what it was trained from."""

    pipeline: Pipeline
    intents: tuple[str, ...]
    gazetteer: dict[str, dict[str, str]] = field(default_factory=dict)
    regexes: dict[str, list[str]] = field(default_factory=dict)
    data_hash: str = ""
    train_seconds: float = 0.0
    format: int = FORMAT

    @classmethod
    def train(cls, data: TrainingData, c: float = 20.0) -> IntentModel:
        started = time.perf_counter()
        texts = [normalize(e.text) for e in data.examples]
        labels = [e.intent for e in data.examples]
        pipeline = Pipeline([
            ("features", _features()),
            ("classifier", LogisticRegression(C=c, max_iter=2000, class_weight="balanced")),
        ])
        pipeline.fit(texts, labels)
        intents = tuple(str(i) for i in pipeline.classes_)
        return cls(pipeline, intents, data.entity_values(), data.regexes, data_digest(data),
                   time.perf_counter() - started)

    def rank(self, text: str) -> list[tuple[str, float]]:
        """Every intent with its probability, best first."""
        return self.rank_many([text])[0]

    def rank_many(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        probabilities = self.pipeline.predict_proba([normalize(t) for t in texts])
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
        if not isinstance(model, cls) or model.format != FORMAT:
            raise ValueError(f"{path} is not a model of this version; run `python -m nlu train`")
        return model


def data_digest(data: TrainingData) -> str:
    h = hashlib.sha256()
    for e in data.examples:
        h.update(f"{e.intent}\t{e.text}\n".encode())
    return h.hexdigest()[:16]
