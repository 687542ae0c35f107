"""The turn pipeline: safety filter -> NLU -> dialogue engine -> effects -> one saved transaction.

Features (kernel.feature.Feature: hand-off, broadcasts) are given at construction: their effect
handlers, payload prefixes and interceptors become the pipeline's tables once (a second claim of an
effect or prefix is a FeatureConflict at start-up) and nothing changes them afterwards."""

from __future__ import annotations

import logging
import weakref
from asyncio import Lock
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.attachments import answer_attachment
from bot.replies import ReplyOutbox, Staged
from bot.storage.db import utcnow
from bot.storage.residents import Residents
from bot.storage.store import Store
from bot.storage.turns import TurnResident, TurnTx
from dialogues.engine import Context, Pressed, Said, advance
from dialogues.engine import Resident as EngineResident
from dialogues.flows import Library
from dialogues.language import detect as detect_language
from dialogues.state import DialogueState
from kernel import effects as fx
from kernel.commune import CommuneSource, Teams, place_name
from kernel.feature import Feature, FeatureConflict, MediaHandler, claims
from kernel.i18n import Catalogs, Translator
from kernel.messages import Button, Incoming, Reply, ResidentKey, TurnResult, TurnState
from kernel.safety import Screened, screen
from kernel.text import chosen_number
from nlu.types import Interpreter, Parse

log = logging.getLogger(__name__)
# How long a typed number still answers the buttons last offered (as the Zalo channel's numbered lists).
CHOICES_KEPT = timedelta(days=1)


@dataclass
class TurnScope:
    """What an effect handler may use: the open transaction, the resident and their language."""

    tx: TurnTx
    resident: TurnResident
    tr: Translator
    state: DialogueState
    incoming: Incoming
    # What the resident typed, after the safety filter (None for a button press).
    text: str | None = None
    forgotten: bool = False
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def session(self) -> AsyncSession:
        """An ORM session in the turn's transaction (made when a feature first uses it)."""
        return self.tx.session


EffectHandler = Callable[[TurnScope, Any], Awaitable[list[Reply]]]
# Sees a turn before the dialogue engine; returning replies (not None) takes the turn over.
Interceptor = Callable[[TurnScope], Awaitable[list[Reply] | None]]


@dataclass(frozen=True)
class Limits:
    threshold: float = 0.45
    margin: float = 0.08
    max_misunderstood: int = 2


class Pipeline:
    """Turns one incoming message into replies, saving everything in one transaction."""

    def __init__(self, store: Store, interpreter: Interpreter, library: Library, catalogs: Catalogs,
                 commune: CommuneSource, limits: Limits = Limits(), features: Sequence[Feature] = (),
                 replies: ReplyOutbox | None = None) -> None:
        self.store = store
        # The turn's replies through the outbox (sent by the core on push channels); None: returned only.
        self.replies = replies
        self.interpreter = interpreter
        self.library = library
        self.catalogs = catalogs
        self.commune = commune
        self.limits = limits
        self.residents = Residents(store)
        self._locks: weakref.WeakValueDictionary[ResidentKey, Lock] = weakref.WeakValueDictionary()
        core = Feature("pipeline", effects={
            fx.SetLanguage: self._set_language, fx.SetVillage: self._set_village, fx.Subscribe: self._subscribe,
            fx.Unsubscribe: self._unsubscribe, fx.Track: self._track, fx.ShowMyData: self._show_data,
            fx.ForgetMe: self._forget})
        everyone = (core, *features)
        handlers: dict[type, EffectHandler] = claims(everyone, lambda f: f.effects, "effect")
        # Without the hand-off feature, a hand-off tells the resident how to reach the team in person.
        handlers.setdefault(fx.Handoff, self._handoff_without_team)
        self.handlers: Mapping[type, EffectHandler] = handlers
        # Payload prefixes served by a feature (e.g. "case:"), checked before the engine.
        self.payloads: Mapping[str, Callable[[TurnScope, str], Awaitable[list[Reply]]]] = claims(
            everyone, lambda f: f.payloads, "payload prefix")
        # Checked in order after the payloads, before the engine (e.g. relaying to an open hand-off case).
        self.interceptors: tuple[Interceptor, ...] = tuple(f.interceptor for f in features if f.interceptor)
        # Residents' photos and voice notes (the hand-off keeps them in the case); without it, "text only".
        media = [f for f in features if f.media is not None]
        if len(media) > 1:
            raise FeatureConflict(f"residents' files are claimed by both {media[0].name} and {media[1].name}")
        self.media: MediaHandler | None = media[0].media if media else None

    def _lock(self, who: ResidentKey) -> Lock:
        lock = self._locks.get(who)
        if lock is None:
            lock = Lock()
            self._locks[who] = lock
        return lock

    async def handle(self, msg: Incoming) -> TurnResult:
        if msg.attachment is not None and (msg.media is None or self.media is None):
            return await answer_attachment(msg, self.residents, self.catalogs)
        screened = screen(msg.text) if msg.text is not None else None
        parse: Parse | None = None
        if screened is not None:
            parse = await self.interpreter.parse(screened.text)
        async with self._lock(msg.who):
            try:
                return await self._turn(msg, screened, parse)
            except _Seen as seen:
                return await self._replayed(msg, seen.language)

    async def _turn(self, msg: Incoming, screened: Screened | None, parse: Parse | None) -> TurnResult:
        """The turn in one transaction (raises _Seen for a message processed before); its replies are sent
        right after the commit."""
        async with self.store.turn() as tx:
            resident, conv, seen = await self.store.open_turn(tx, msg.who, msg.message_id)
            if seen:
                raise _Seen(resident.language)
            state = DialogueState.from_json(conv.state)
            if msg.payload is not None and msg.at is not None and msg.at != state.position() \
                    and not self._hooked(msg.payload):
                log.info("button for an earlier position from %s ignored", msg.who)
                language = self.catalogs.negotiate(resident.language, msg.platform_language)
                return TurnResult((), self.turn_state(None, state, language), at=state.position(), stale=True)
            payload = msg.payload if msg.payload is not None else _typed_choice(screened, state, conv.updated_at)
            chosen = self.catalogs.parse(msg.language)
            if chosen:
                resident.language = chosen
            elif screened is not None:
                self._follow_the_message(resident, msg, screened.text)
            scope = TurnScope(tx, resident, self._translator(resident, msg), state, msg,
                              text=screened.text if screened is not None else None)
            replies: list[Reply] = []
            if screened is not None and screened.shared_secret:
                replies.append(Reply(scope.tr("⚠️ Bạn vừa gửi một mã bí mật (OTP hoặc mật khẩu). Tôi đã xoá nó. "
                                              "Đừng bao giờ đưa mã này cho ai, kể cả người xưng là công an "
                                              "hay ngân hàng. Nếu đã lỡ đưa, hãy đổi mật khẩu ngay.")))
            hook = self.payloads.get(payload.partition(":")[0]) if payload else None
            taken: list[Reply] | None = None
            unanswered: str | None = None
            if msg.media is not None and self.media is not None:
                taken = await self.media(scope, msg.media)
            elif hook is not None:
                taken = await hook(scope, payload or "")
            else:
                for intercept in self.interceptors:
                    taken = await intercept(scope)
                    if taken is not None:
                        break
            if taken is not None:
                replies += taken
                new_state = scope.state
            else:
                commune = self.commune.current()
                ctx = Context(library=self.library, catalogs=self.catalogs, commune=commune,
                              resident=EngineResident(scope.tr.language, resident.village, resident.subscribed),
                              threshold=self.limits.threshold, margin=self.limits.margin,
                              max_misunderstood=self.limits.max_misunderstood, today=_local_today(commune.teams))
                event = Pressed(payload) if payload is not None else Said(parse)  # type: ignore[arg-type]
                outcome = advance(ctx, state, event)
                unanswered = outcome.unanswered  # logged in place of the intent (the dashboard lists them)
                replies += outcome.replies
                scope.state = new_state = outcome.state
                for effect in outcome.effects:
                    replies += await self.handlers[type(effect)](scope, effect)
            language = scope.tr.language
            # The buttons just offered, in order: a number typed next presses one (every channel).
            new_state = replace(new_state, choices=tuple(b.payload for r in replies for b in r.flat_buttons()))
            if not scope.forgotten:
                await self.store.append_messages(tx.conn, resident.id, [
                    ("in", screened.text if screened else None, payload or ("media" if msg.media else None),
                     unanswered or (parse.intent if parse else None), msg.message_id),
                    *(("out", reply.text, None, None, None) for reply in replies)])
                conv.state, conv.turns, conv.updated_at = new_state.to_json(), conv.turns + 1, utcnow()
                await tx.save(resident, conv)
            at = None if scope.forgotten else new_state.position()
            staged = await self.replies.stage(tx.conn, msg.who, msg.message_id, replies, at) if self.replies else None
        if staged is not None and self.replies is not None:
            self.replies.deliver(staged)  # right after the commit, before anything else
        for job in scope.after_commit:
            await job()
        return TurnResult(tuple(replies), self.turn_state(parse, new_state, language), forgotten=scope.forgotten,
                          at=at, delivered=staged is not None)

    async def _replayed(self, msg: Incoming, chosen: str | None) -> TurnResult:
        """A message processed before (a redelivery, a retried request): no second turn; its saved replies
        that were not delivered are sent now (push channels) or answered again (the web chat)."""
        language = self.catalogs.negotiate(chosen, msg.platform_language)
        staged: Staged | None = None
        replies: tuple[Reply, ...] = ()
        at: str | None = None
        if self.replies is not None and msg.message_id is not None:
            async with self.store.writing() as s:
                replies, at, staged = await self.replies.replay(s, msg.who, msg.message_id)
        log.info("duplicate message %s from %s: %d saved replies again", msg.message_id, msg.who, len(replies))
        if staged is not None and self.replies is not None:
            self.replies.deliver(staged)  # leased again in the transaction just committed
        return TurnResult(replies, TurnState(None, None, None, None, language), duplicate=True, at=at,
                          delivered=staged is not None)

    def _hooked(self, payload: str) -> bool:
        """A feature's button (a hand-off case's, feedback): not tied to the guide's position."""
        return payload.partition(":")[0] in self.payloads

    def _follow_the_message(self, resident: TurnResident, msg: Incoming, text: str) -> None:
        """A resident who clearly writes in another language gets that language from this message on (it is
        saved, like a choice), until they choose or write otherwise; short or mixed messages change nothing."""
        written = detect_language(text)
        if written in self.catalogs.languages and \
                written != self.catalogs.negotiate(resident.language, msg.platform_language):
            resident.language = written

    def _translator(self, resident: TurnResident, msg: Incoming) -> Translator:
        return self.catalogs.get(self.catalogs.negotiate(resident.language, msg.platform_language))

    def turn_state(self, parse: Parse | None, state: DialogueState, language: str) -> TurnState:
        flow = self.library.get(state.flow) if state.flow else None
        if flow is None or state.step is None:
            return TurnState(parse.intent if parse else None, None, None, None, language)
        return TurnState(parse.intent if parse else None, flow.id, flow.index(state.step) + 1, len(flow.steps),
                         language)

    # --- effect handlers -------------------------------------------------

    async def _set_language(self, scope: TurnScope, effect: fx.SetLanguage) -> list[Reply]:
        scope.resident.language = effect.language
        scope.tr = self.catalogs.get(effect.language)
        return []

    async def _set_village(self, scope: TurnScope, effect: fx.SetVillage) -> list[Reply]:
        scope.resident.village = effect.village
        return []

    async def _subscribe(self, scope: TurnScope, effect: fx.Subscribe) -> list[Reply]:
        scope.resident.village = effect.village
        scope.resident.subscribed = True
        scope.resident.consent_at = utcnow()
        # The consent keeps "your village and language": the language the resident subscribed in (their
        # platform's, if they never chose one), so announcements come in it (issue 17, item 16).
        scope.resident.language = scope.resident.language or scope.tr.language
        scope.tx.track(scope.resident.id, "subscribe")
        return []

    async def _unsubscribe(self, scope: TurnScope, effect: fx.Unsubscribe) -> list[Reply]:
        scope.resident.subscribed = False
        scope.resident.consent_at = None
        scope.tx.track(scope.resident.id, "unsubscribe")
        return []

    async def _track(self, scope: TurnScope, effect: fx.Track) -> list[Reply]:
        scope.tx.track(scope.resident.id, effect.kind, effect.flow, effect.step)
        return []

    async def _show_data(self, scope: TurnScope, effect: fx.ShowMyData) -> list[Reply]:
        r, tr = scope.resident, scope.tr
        village = self.commune.current().village(r.village)
        text = tr("Trợ lý đang lưu về bạn:\n• Kênh: {channel}\n• Ngôn ngữ: {language}\n• Thôn: {village}\n"
                  "• Nhận thông báo: {subscribed}\n• Lịch sử tin nhắn (đã ẩn số CCCD, số điện thoại, mã OTP).",
                  channel=r.channel, language=r.language or tr.language,
                  village=place_name(tr, village) if village else tr("chưa có"),
                  subscribed=tr("có") if r.subscribed else tr("không"))
        return [Reply(text, ((Button(tr("Xoá thông tin của tôi"), "forget"), Button(tr("Xem danh mục"), "menu")),))]

    async def _forget(self, scope: TurnScope, effect: fx.ForgetMe) -> list[Reply]:
        await self.store.forget(scope.tx.conn, scope.resident.id)
        scope.tx.drop_events_of(scope.resident.id)
        if self.replies is not None:
            await self.replies.forget(scope.tx.conn, scope.incoming.who)
        scope.forgotten = True
        return [Reply(scope.tr("Đã xoá toàn bộ thông tin của bạn. Nếu nhắn tiếp, trợ lý sẽ bắt đầu lại từ đầu."))]

    async def _handoff_without_team(self, scope: TurnScope, effect: fx.Handoff) -> list[Reply]:
        return without_team(scope, self.commune, effect)


class _Seen(Exception):
    """The message was processed before (its id is in the log): no second turn."""

    def __init__(self, language: str | None) -> None:
        self.language = language


def without_team(scope: TurnScope, commune: CommuneSource, effect: fx.Handoff) -> list[Reply]:
    """A hand-off no team can take (none configured or reachable): how to reach the team in person."""
    tr = scope.tr
    village = commune.current().village(effect.village or scope.resident.village)
    return [Reply(tr("Tổ công nghệ số của {place} sẽ giúp bạn trực tiếp. Bạn có thể gặp trưởng thôn "
                     "hoặc đến điểm phục vụ hành chính công của xã.",
                     place=place_name(tr, village) if village else tr("thôn bạn")),
                  ((Button(tr("Xem danh mục"), "menu"),),))]


def _typed_choice(screened: Screened | None, state: DialogueState, since: datetime | None) -> str | None:
    """The button a typed number ("2", "2.", "số 2") stands for among the last reply's, else None (also when
    that reply is older than CHOICES_KEPT: a "3" days later is not an answer to it)."""
    number = chosen_number(screened.text) if screened is not None else None
    if number is None or not 1 <= number <= len(state.choices):
        return None
    if since is not None and utcnow() - (since if since.tzinfo else since.replace(tzinfo=UTC)) > CHOICES_KEPT:
        return None
    return state.choices[number - 1]


def _local_today(teams: Teams) -> date:
    """The commune's date (schedules hide past days); the time zone is set in teams.yml."""
    return datetime.now(teams.timezone).date()
