"""Training the intent model with scikit-learn, and exporting it to the arrays the server scores with.

Imported only to train (and by the tests that check the export): the server loads the exported
`nlu.scorer.Scorer` and never imports scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from nlu.scorer import Scorer, Vocabulary, Weights


def _features() -> FeatureUnion:
    return FeatureUnion([
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=1,
                                  lowercase=False, dtype=np.float32)),
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True, lowercase=False,
                                  token_pattern=r"\S+", dtype=np.float32)),
    ])


def fit(texts: Sequence[str], labels: Sequence[str], c: float = 0.5) -> Pipeline:
    """TF-IDF over character and word n-grams, and a linear SVM calibrated into probabilities (Platt
    scaling on 3 folds). `texts` are normalised already."""
    pipeline = Pipeline([
        ("features", _features()),
        ("classifier", CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced"), method="sigmoid",
                                              cv=3, ensemble=False)),
    ])
    pipeline.fit(list(texts), list(labels))
    return pipeline


def export(pipeline: Pipeline) -> Scorer:
    """The fitted pipeline's predict_proba as arrays (nlu.scorer), for one message at a time."""
    features: FeatureUnion = pipeline.named_steps["features"]
    calibrated = pipeline.named_steps["classifier"].calibrated_classifiers_[0]
    svm = calibrated.estimator
    vocabularies = []
    offset = 0
    for _name, vectorizer in features.transformer_list:
        if vectorizer.analyzer not in ("char_wb", "word") or vectorizer.lowercase or vectorizer.stop_words \
                or not (vectorizer.sublinear_tf and vectorizer.use_idf and vectorizer.norm == "l2") \
                or vectorizer.preprocessor or vectorizer.tokenizer or vectorizer.strip_accents \
                or (vectorizer.analyzer == "word" and vectorizer.token_pattern != r"\S+"):
            raise ValueError(f"nlu.scorer cannot reproduce the vectorizer {vectorizer!r}")
        index = {str(gram): int(column) for gram, column in vectorizer.vocabulary_.items()}
        vocabularies.append(Vocabulary(vectorizer.analyzer, tuple(vectorizer.ngram_range), index,
                                       vectorizer.idf_.astype(np.float64), offset))
        offset += len(index)
    words = dict(features.transformer_list)["words"].vocabulary_
    return Scorer(tuple(vocabularies),
                  weights=Weights.of(np.ascontiguousarray(svm.coef_.T, dtype=np.float64)),
                  intercept=svm.intercept_.astype(np.float64),
                  a=np.array([c.a_ for c in calibrated.calibrators], dtype=np.float64),
                  b=np.array([c.b_ for c in calibrated.calibrators], dtype=np.float64),
                  words=frozenset(str(w) for w in words if " " not in w))
