"""The served model scores with numpy alone, exactly as the scikit-learn pipeline it was exported from."""

from __future__ import annotations

import fcntl
import os
import pickle
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from nlu.dataset import load
from nlu.evaluate import read_labelled
from nlu.model import IntentModel
from nlu.normalize import normalize
from nlu.scorer import char_wb_ngrams, word_ngrams

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# scikit-learn (and nlu.training, which imports it) only inside the tests: importing it costs every test
# worker 1.3 s of CPU while it collects, whether or not it runs these tests.

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "nlu" / "eval"


def _texts() -> list[str]:
    texts = [e.text for e in load(ROOT / "nlu" / "data").examples]
    for name in ("heldout.jsonl", "issue16.jsonl"):
        texts += [c.text for c in read_labelled(EVAL / name)]
    texts += (EVAL / "garbage.txt").read_text(encoding="utf-8").splitlines()
    return [*texts, "", "x" * 5000, "ko dc", " a \t b "]


TEXTS = _texts()


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    """A model trained on the project's data (about 5 s of CPU) once a run: the first worker process to need it
    trains it and leaves it where the run's other workers load it (their temporary folders share a parent)."""
    folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = folder.parent
    saved = folder / "scorer-pipeline.pkl"
    with open(folder / "scorer-pipeline.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the others wait for the first one's model
        if saved.exists():
            loaded: Pipeline = pickle.loads(saved.read_bytes())
            return loaded
        from nlu import training

        data = load(ROOT / "nlu" / "data")
        fitted = training.fit([normalize(e.text) for e in data.examples], [e.intent for e in data.examples])
        saved.write_bytes(pickle.dumps(fitted))
        return fitted


_WEIGHTS: dict[int, np.ndarray] = {}


def _before(pipeline: Pipeline, text: str) -> np.ndarray:
    """The scoring the server did before the export (with scikit-learn's analyzers and fitted attributes)."""
    features = pipeline.named_steps["features"]
    calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_[0]
    weights = _WEIGHTS.get(id(pipeline))
    if weights is None:
        weights = _WEIGHTS[id(pipeline)] = np.ascontiguousarray(calibrated.estimator.coef_.T, dtype=np.float64)
    scores = calibrated.estimator.intercept_.astype(np.float64).copy()
    offset = 0
    for _name, vectorizer in features.transformer_list:
        counts: dict[int, int] = {}
        for gram in vectorizer.build_analyzer()(text):
            index = vectorizer.vocabulary_.get(gram)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        if counts:
            columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
            values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) \
                * vectorizer.idf_.astype(np.float64)[columns]
            values /= np.sqrt(values @ values)
            scores += values @ weights[columns + offset]
        offset += len(vectorizer.vocabulary_)
    a = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64)
    b = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64)
    proba = 1.0 / (1.0 + np.exp(a * scores + b))
    return proba / proba.sum()


def test_ngrams_are_scikit_learns_in_the_same_order() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), lowercase=False).build_analyzer()
    words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), lowercase=False, token_pattern=r"\S+").build_analyzer()
    for text in [*TEXTS, "a", "ab  cd\n\nef", "  x  "]:
        folded = normalize(text)
        for sample in (folded, text):
            assert char_wb_ngrams(sample) == chars(sample), sample
            assert word_ngrams(sample) == words(sample), sample


@pytest.mark.slow  # trains a model (the pipeline fixture): about 5 s of CPU
def test_exported_scores_are_the_pipelines(pipeline: Pipeline) -> None:
    from nlu import training

    scorer = training.export(pipeline)
    folded = [normalize(t) for t in TEXTS]
    expected = pipeline.predict_proba(folded)
    for text, row in zip(folded, expected, strict=True):
        got, before = scorer.probabilities(text), _before(pipeline, text)
        # float32 weights: within 1e-6 of the float64 scoring, the same ranking of the top intents
        assert np.abs(got - before).max() < 1e-6, text
        assert list(np.argsort(-got)[:3]) == list(np.argsort(-before)[:3]) or np.ptp(np.sort(got)[-3:]) < 1e-6, text
        assert np.abs(got - row).max() < 1e-5 and int(np.argmax(got)) == int(np.argmax(row)), text


@pytest.mark.slow  # trains a model (the pipeline fixture): about 5 s of CPU
def test_a_saved_model_loads_and_ranks_without_scikit_learn(pipeline: Pipeline, tmp_path: Path) -> None:
    from nlu import training

    model = IntentModel(training.export(pipeline), tuple(str(i) for i in pipeline.classes_))
    model.save(tmp_path / "m.pkl")
    raw = (tmp_path / "m.pkl").read_bytes()
    assert b"sklearn" not in raw  # unpickling imports nothing of scikit-learn
    loaded = IntentModel.load(tmp_path / "m.pkl")
    assert [loaded.rank(t) for t in TEXTS[::7]] == [model.rank(t) for t in TEXTS[::7]]


@pytest.mark.slow  # trains a model (the pipeline fixture): about 5 s of CPU
def test_a_model_file_of_the_previous_format_is_exported_at_load(pipeline: Pipeline, tmp_path: Path) -> None:
    old = IntentModel.__new__(IntentModel)
    old.__dict__.update({"pipeline": pipeline, "intents": tuple(str(i) for i in pipeline.classes_), "gazetteer": {},
                         "regexes": {}, "data_hash": "x", "train_seconds": 1.0, "format": 2})
    (tmp_path / "old.pkl").write_bytes(pickle.dumps(old))
    loaded = IntentModel.load(tmp_path / "old.pkl")
    assert loaded.format == 3 and loaded.data_hash == "x"
    text = normalize("làm sao cài vneid")
    assert np.abs(loaded.scorer.probabilities(text) - _before(pipeline, text)).max() < 1e-6
