"""The trained intent classifier as plain arrays, scored with numpy alone (the server never imports
scikit-learn: it costs seconds of start-up and most of the process's memory).

`nlu/training.py` exports these arrays from the fitted scikit-learn pipeline; the arithmetic is the
pipeline's (sublinear TF x IDF, L2 per vectorizer, linear scores, one sigmoid per class, normalised), and
the n-grams are made exactly as scikit-learn's `char_wb` (2-5) and word (1-2, `\\S+`) analyzers make
them, in the same order. The weights are kept as float32 (the arithmetic is float64): 4.4 MB less in every
server process, for probabilities within 1e-6 of float64 weights' and the same ranking (tests/nlu/test_scorer.py;
the fitted pipeline's own TF-IDF features are float32).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"\S+")


def char_wb_ngrams(text: str, low: int = 2, high: int = 5) -> list[str]:
    """Character n-grams inside word boundaries, each word padded with a space (scikit-learn's `char_wb`)."""
    grams: list[str] = []
    add = grams.append
    for w in _SPACES.sub(" ", text).split():
        w = " " + w + " "
        size = len(w)
        for n in range(low, high + 1):
            offset = 0
            add(w[offset:offset + n])
            while offset + n < size:
                offset += 1
                add(w[offset:offset + n])
            if offset == 0:  # a short word counts once
                break
    return grams


def word_ngrams(text: str, low: int = 1, high: int = 2) -> list[str]:
    """Words (runs of non-space) and their runs of up to `high` words, joined by a space."""
    words = _TOKEN.findall(text)
    grams = list(words) if low == 1 else []
    for n in range(max(low, 2), min(high + 1, len(words) + 1)):
        for i in range(len(words) - n + 1):
            grams.append(" ".join(words[i:i + n]))
    return grams


@dataclass(frozen=True)
class Vocabulary:
    """One vectorizer's features: n-gram -> column, its IDF per column, and where its columns start."""

    kind: str  # "char_wb" or "word"
    ngram_range: tuple[int, int]
    index: dict[str, int]
    idf: np.ndarray
    offset: int

    def analyzer(self) -> Callable[[str], list[str]]:
        low, high = self.ngram_range
        if self.kind == "char_wb":
            return lambda text: char_wb_ngrams(text, low, high)
        return lambda text: word_ngrams(text, low, high)


@dataclass(frozen=True)
class Weights:
    """The linear model's features x classes matrix without its zeros (two thirds of it): row by row, the
    classes and values of the non-zero weights. `rows` gives back exactly the dense rows."""

    starts: np.ndarray  # int64, one more than there are features: row f is [starts[f], starts[f + 1])
    classes: np.ndarray  # uint8 up to 256 intents, else uint16
    values: np.ndarray  # float32
    n_classes: int

    @classmethod
    def of(cls, dense: np.ndarray) -> Weights:
        nonzero = dense != 0
        starts = np.zeros(dense.shape[0] + 1, dtype=np.int64)
        np.cumsum(nonzero.sum(axis=1), out=starts[1:])
        classes = np.nonzero(nonzero)[1].astype(np.uint8 if dense.shape[1] <= 256 else np.uint16)
        return cls(starts, classes, dense[nonzero].astype(np.float32),
                   dense.shape[1])

    def rows(self, features: np.ndarray) -> np.ndarray:
        """The dense rows of these features, as a C-contiguous float64 array (zeros where none is stored)."""
        begin, end = self.starts[features], self.starts[features + 1]
        lengths = end - begin
        out = np.zeros((len(features), self.n_classes), dtype=np.float64)
        row = np.repeat(np.arange(len(features)), lengths)
        at = np.arange(int(lengths.sum())) + np.repeat(begin - (np.cumsum(lengths) - lengths), lengths)
        out[row, self.classes[at]] = self.values[at]
        return out


@dataclass(frozen=True)
class Scorer:
    """Probabilities per intent for one normalised message."""

    vocabularies: tuple[Vocabulary, ...]
    weights: Weights  # features x classes
    intercept: np.ndarray
    a: np.ndarray  # Platt scaling per class: 1 / (1 + exp(a * score + b))
    b: np.ndarray
    words: frozenset[str]  # single words seen in training (coverage)

    def coverage(self, text: str) -> float:
        """The share of the message's words that occur in the training data."""
        words = text.split()
        return sum(w in self.words for w in words) / len(words) if words else 0.0

    def probabilities(self, text: str) -> np.ndarray:
        scores = self.intercept.copy()
        for vocabulary in self.vocabularies:
            index = vocabulary.index
            counts: dict[int, int] = {}
            for gram in vocabulary.analyzer()(text):
                column = index.get(gram)
                if column is not None:
                    counts[column] = counts.get(column, 0) + 1
            if not counts:
                continue
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) \
                * vocabulary.idf[columns]
            values /= np.sqrt(values @ values)
            scores += values @ self.weights.rows(columns + vocabulary.offset)
        proba = 1.0 / (1.0 + np.exp(self.a * scores + self.b))
        if len(proba) == 1:  # two intents: one score, for the second
            return np.array([1.0 - proba[0], proba[0]])
        total = proba.sum()
        return proba / total if total > 0 else np.full_like(proba, 1.0 / len(proba))
