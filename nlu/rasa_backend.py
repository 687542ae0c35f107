"""Rasa as an NLU backend: a Rasa server's /model/parse over one long-lived aiohttp session."""

from __future__ import annotations

import logging
import time
from typing import Any

import aiohttp

from nlu.types import Entity, Interpreter, Parse

log = logging.getLogger(__name__)

# Rasa's FallbackClassifier replaces the intent with this name when the top intent is
# below its threshold. Our dialogue engine applies its own threshold and margin to the
# real ranking (and asks a clarifying question between the top two), so we report the
# best real intent with its real confidence instead of this pseudo-intent.
RASA_FALLBACK_INTENT = "nlu_fallback"
# With no intent at all (an empty message) the resident is treated as not understood.
NO_INTENT = "out_of_scope"


class RasaUnavailable(RuntimeError):
    """The Rasa server did not give a usable answer (down, slow, an error, or a malformed reply)."""


def parse_from_rasa(text: str, body: Any) -> Parse:
    """Map Rasa's /model/parse answer onto our Parse; RasaUnavailable if it is not that shape."""
    if not isinstance(body, dict) or not isinstance(body.get("intent"), dict):
        raise RasaUnavailable(f"unexpected answer from Rasa (no intent object): {str(body)[:200]}")
    ranking: list[tuple[str, float]] = []
    for item in body.get("intent_ranking") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"] != RASA_FALLBACK_INTENT:
            ranking.append((item["name"], float(item.get("confidence") or 0.0)))
    ranking.sort(key=lambda pair: pair[1], reverse=True)
    name = body["intent"].get("name")
    confidence = float(body["intent"].get("confidence") or 0.0)
    if name == RASA_FALLBACK_INTENT or not isinstance(name, str) or not name:
        name, confidence = ranking[0] if ranking else (NO_INTENT, 0.0)
    if not ranking:
        ranking = [(name, confidence)]
    entities = []
    for e in body.get("entities") or []:
        try:
            entities.append(Entity(str(e["entity"]), str(e["value"]), int(e["start"]), int(e["end"])))
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed entity from Rasa: %r", e)
    return Parse(text=text, intent=name, confidence=confidence, ranking=tuple(ranking),
                 entities=tuple(entities))


class RasaInterpreter:
    """An Interpreter backed by a Rasa server, falling back to another Interpreter when Rasa fails.

    After a failure Rasa is not asked again for `retry_seconds`, so while it is down residents
    get the fallback's answer at once instead of waiting for a timeout on every message.
    Without a fallback (evaluation, benchmarks) a failure raises RasaUnavailable.
    """

    def __init__(self, url: str, timeout_seconds: float, fallback: Interpreter | None = None,
                 *, retry_seconds: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self.fallbacks = 0  # messages answered by the fallback (for logs, stats and tests)
        self._session: aiohttp.ClientSession | None = None
        self._down_since: float | None = None
        self._retry_at = 0.0

    async def start(self) -> None:
        """Open the HTTP session (once); parse() also opens it on first use."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout,
                                                  headers={"User-Agent": "tro-ly-so/rasa-backend"})

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def down(self) -> bool:
        """True while the last attempt to reach Rasa failed."""
        return self._down_since is not None

    async def parse(self, text: str) -> Parse:
        if self.down and self.fallback is not None and time.monotonic() < self._retry_at:
            return await self._fall_back(text)
        try:
            parse = await self.parse_remote(text)
        except RasaUnavailable as exc:
            self._mark_down(exc)
            if self.fallback is None:
                raise
            return await self._fall_back(text)
        if self.down:
            log.warning("Rasa server at %s answers again (it was unusable for %.0f s); using Rasa",
                        self.url, time.monotonic() - (self._down_since or 0.0))
            self._down_since = None
        return parse

    async def parse_remote(self, text: str) -> Parse:
        """Ask Rasa only (no fallback); RasaUnavailable when it cannot answer."""
        await self.start()
        assert self._session is not None
        try:
            async with self._session.post(f"{self.url}/model/parse", json={"text": text}) as response:
                if response.status != 200:
                    detail = (await response.text())[:200]
                    raise RasaUnavailable(f"HTTP {response.status} from {self.url}/model/parse: {detail}")
                body = await response.json(content_type=None)
        except TimeoutError as exc:
            raise RasaUnavailable(f"no answer from {self.url} within {self.timeout.total} s") from exc
        except aiohttp.ClientError as exc:
            raise RasaUnavailable(f"cannot reach {self.url}: {exc}") from exc
        except ValueError as exc:  # the body is not JSON
            raise RasaUnavailable(f"answer from {self.url} is not JSON: {exc}") from exc
        return parse_from_rasa(text, body)

    def _mark_down(self, exc: RasaUnavailable) -> None:
        now = time.monotonic()
        self._retry_at = now + self.retry_seconds
        if self._down_since is None:
            self._down_since = now
            if self.fallback is not None:
                log.error("Rasa NLU unusable: %s. Using the embedded model; retrying Rasa every %.0f s",
                          exc, self.retry_seconds)
            else:
                log.error("Rasa NLU unusable: %s", exc)
        else:
            log.debug("Rasa NLU still unusable: %s", exc)

    async def _fall_back(self, text: str) -> Parse:
        assert self.fallback is not None
        self.fallbacks += 1
        return await self.fallback.parse(text)
