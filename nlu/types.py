"""The typed boundary of the NLU: what a parse returns and what a backend offers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Entity:
    """A span of the message recognised as an entity (character offsets into the text)."""

    entity: str
    value: str
    start: int
    end: int

    def as_dict(self) -> dict[str, object]:
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Parse:
    """One message understood: best intent, its confidence, the ranking and the entities."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...] = ()
    entities: tuple[Entity, ...] = field(default_factory=tuple)

    def entity(self, name: str) -> Entity | None:
        """The first entity of that name, if any."""
        return next((e for e in self.entities if e.entity == name), None)

    def as_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "entities": [e.as_dict() for e in self.entities],
        }


class Interpreter(Protocol):
    """Anything that turns a message into a Parse (our embedded model, or Rasa)."""

    async def parse(self, text: str) -> Parse: ...
