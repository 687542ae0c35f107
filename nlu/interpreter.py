"""The embedded interpreter: the trained intent model plus the entity extractor."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kernel.commune import Village
from nlu.entities import EntityExtractor
from nlu.model import IntentModel
from nlu.normalize import MAX_CHARS, normalize, prepare
from nlu.types import Parse

OUT_OF_SCOPE = "out_of_scope"


class ModelMissing(Exception):
    """No trained model could be loaded."""


class EmbeddedInterpreter:
    """Parses in-process; cheap enough (about a millisecond) to call on the event loop."""

    def __init__(self, model: IntentModel, villages: Sequence[Village] = ()) -> None:
        self.model = model
        self.entities = EntityExtractor(model.gazetteer, villages, model.regexes)

    @classmethod
    def load(cls, model_path: Path, data_dir: Path | None = None,
             villages: Sequence[Village] = ()) -> EmbeddedInterpreter:
        """Load the trained model. `data_dir` is where it was trained from (named in the error)."""
        try:
            model = IntentModel.load(Path(model_path))
        except FileNotFoundError:
            raise ModelMissing(f"no trained NLU model at {model_path}: run `python -m nlu train`"
                               + (f" (training data: {data_dir})" if data_dir else "")) from None
        except (ValueError, EOFError, AttributeError, ImportError) as exc:
            raise ModelMissing(f"the NLU model at {model_path} cannot be loaded ({exc}); "
                               "run `python -m nlu train`") from None
        return cls(model, villages)

    def parse_sync(self, text: str) -> Parse:
        text = prepare(text)
        entities = self.entities.extract(text[:MAX_CHARS])
        if not _readable(text):
            # Nothing a classifier can read (emoji, symbols, code, another script, only numbers).
            return Parse(text, OUT_OF_SCOPE, 0.0, ((OUT_OF_SCOPE, 0.0),), entities)
        ranking = self.model.rank(text)
        intent, confidence = ranking[0]
        return Parse(text, intent, confidence, tuple(ranking[:5]), entities)

    async def parse(self, text: str) -> Parse:
        return self.parse_sync(text)


def _readable(text: str) -> bool:
    """Whether the message has words in our languages: Latin letters are most of what was typed."""
    words = normalize(text)
    if not any(ch.isalpha() for ch in words):
        return False
    visible = [ch for ch in text[:MAX_CHARS] if not ch.isspace()]
    letters = sum(ch.isalpha() for ch in visible)
    return letters >= 0.5 * len(visible)
