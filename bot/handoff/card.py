"""What the team sees: the case card (the whole situation, redacted) and its buttons; button encoding."""

from __future__ import annotations

from collections.abc import Sequence

from bot.handoff.models import Case
from bot.handoff.routing import Team
from dialogues.flows import Library
from kernel.commune import Commune
from kernel.i18n import Translator
from kernel.messages import Button


def buttons_json(rows: Sequence[Sequence[Button]]) -> list[list[list[str]]]:
    return [[[b.label, b.payload] for b in row] for row in rows]


def buttons_of(data: list[list[list[str]]] | None) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(label, payload) for label, payload in row) for row in data or ())


def card_text(tr: Translator, commune: Commune, library: Library, case: Case, team: Team) -> str:
    """The case card: village, channel, language, reason, guide and step, what was tried, recent messages."""
    village = commune.village(case.village)
    reasons = {"asked": tr("người dân muốn gặp người hỗ trợ"), "stuck": tr("vẫn không làm được sau khi "
               "đã thử cách khắc phục"), "misunderstood": tr("trợ lý nhiều lần không hiểu")}
    lines = [tr("🆘 Yêu cầu {case} — {team}", case=case.id, team=team.name),
             tr("Thôn: {village} · Kênh: {channel} · Ngôn ngữ: {language}",
               village=village.label if village else (case.village or "?"), channel=case.channel,
               language=case.language),
             tr("Lý do: {reason}", reason=reasons.get(case.reason, case.reason))]
    flow = library.get(case.flow) if case.flow else None
    if flow is not None:
        where = tr(flow.title)
        if case.step:
            try:
                where += tr(" — bước {n}/{total}", n=flow.index(case.step) + 1, total=len(flow.steps))
            except (KeyError, ValueError):
                pass
        lines.append(tr("Đang làm: {where}", where=where))
        if case.tried:
            tried = [str(flow.index(s) + 1) if s in {st.id for st in flow.steps} else s for s in case.tried]
            lines.append(tr("Đã thử (không được): bước {steps}", steps=", ".join(tried)))
    if case.history:
        lines.append(tr("Tin nhắn gần đây:"))
        lines += [("👤 " if d == "in" else "🤖 ") + (text or "")[:300] for d, text in case.history]
    lines.append(tr("Bấm “Nhận” rồi trả lời trong chủ đề này (hoặc trả lời vào tin này) để nhắn cho người dân."))
    return "\n".join(lines)[:4000]


def card_buttons(tr: Translator, case: Case) -> tuple[tuple[Button, ...], ...]:
    return ((Button(tr("✋ Nhận"), f"esc:claim:{case.id}"), Button(tr("✅ Xong"), f"esc:resolve:{case.id}")),
            (Button(tr("↩️ Trả về trợ lý"), f"esc:back:{case.id}"),))
