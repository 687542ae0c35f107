"""A web resident's past for the chat page: the stored (redacted) messages and the open guide's "continue"."""

from __future__ import annotations

from sqlalchemy import select

from bot.pipeline import Pipeline
from bot.storage.db import Conversation, Message, Resident
from dialogues.state import DialogueState
from dialogues.turn import CANCEL, HUMAN, MENU, N_, RESUME, STEP_DONE, STEP_STUCK
from integrations.web.history import ASSISTANT, RESIDENT, Past
from kernel.i18n import Translator
from kernel.messages import Button, Reply, ResidentKey

# What a pressed button said, for the resident's side of the restored conversation (only payloads are stored).
PRESSED = {STEP_DONE: N_("Xong rồi"), STEP_STUCK: N_("Không được"), HUMAN: N_("Gặp người hỗ trợ"),
           CANCEL: N_("Thôi"), MENU: N_("Xem danh mục"), RESUME: N_("Tiếp tục")}


class ChatHistory:
    """The History port of integrations.web over the pipeline's store, guides and catalogs."""

    def __init__(self, pipeline: Pipeline, limit: int = 60) -> None:
        self.pipeline = pipeline
        self.limit = limit

    async def past(self, who: ResidentKey, locale: str | None = None) -> Past | None:
        p = self.pipeline
        async with p.store.session() as s:
            found = (await s.execute(
                select(Resident, Conversation).outerjoin(Conversation, Conversation.resident_id == Resident.id)
                .where(Resident.channel == who.channel, Resident.platform_id == who.user_id))).first()
            if found is None:
                return None
            resident, conv = found
            rows = (await s.execute(select(Message.direction, Message.text, Message.payload,
                                           Message.platform_message_id)
                                    .where(Message.resident_id == resident.id)
                                    .order_by(Message.id.desc()).limit(self.limit))).all()
        if p.replies is not None:  # the replies shown here are not collected again
            await p.replies.shown(who)
        tr = p.catalogs.get(p.catalogs.negotiate(resident.language, locale))
        messages: list[tuple[str, str]] = []
        answered: list[str] = []
        for direction, text, payload, message_id in reversed(rows):
            shown = text if text is not None else self._pressed(tr, payload)
            if shown:
                messages.append((RESIDENT if direction == "in" else ASSISTANT, shown))
            if direction == "in" and message_id is not None:
                answered.append(message_id)
        state = DialogueState.from_json(conv.state if conv is not None else None)
        turn = p.turn_state(None, state, tr.language)
        resume = None
        if turn.flow is not None:
            flow = p.library.flows[turn.flow]
            resume = Reply(tr("Bạn đang làm dở: {guide}, bước {n}", guide=tr(flow.title), n=turn.step),
                           ((Button(tr("Tiếp tục"), RESUME), Button(tr("Thôi"), CANCEL)),))
        return Past(tuple(messages), turn, state.position(), resume, tuple(answered))

    def _pressed(self, tr: Translator, payload: str | None) -> str | None:
        """The label of a pressed button, when it can be told from its payload."""
        if payload is None:
            return None
        if payload in PRESSED:
            return tr(PRESSED[payload])
        kind, _, rest = payload.partition(":")
        library = self.pipeline.library
        if kind == "flow" and library.get(rest) is not None:
            return tr(library.flows[rest].title)
        topic = next((t for t in library.topics if t.id == rest), None) if kind == "topic" else None
        return tr(topic.title) if topic is not None else None
