"""What a resident receives: the announcement in their language, its buttons and the unsubscribe button;
and what staff see: previews and delivery reports."""

from __future__ import annotations

from bot.broadcast.models import Broadcast
from bot.broadcast.queue import Counts
from kernel.i18n import Catalogs, Translator
from kernel.messages import Button, Reply

UNSUBSCRIBE = "unsub"  # handled by the dialogue engine


def text_for(broadcast: Broadcast, language: str) -> tuple[str, str]:
    """(language used, text): the resident's own language, else the other one given."""
    texts = {"vi": broadcast.text_vi, "en": broadcast.text_en}
    if texts.get(language):
        return language, texts[language]  # type: ignore[return-value]
    for lang, text in texts.items():
        if text:
            return lang, text
    raise ValueError(f"broadcast {broadcast.id} has no text")


def announcement(broadcast: Broadcast, catalogs: Catalogs, resident_language: str | None) -> Reply:
    """The message one resident gets; its frame and buttons follow the language of its text."""
    wanted = catalogs.negotiate(resident_language)
    language, text = text_for(broadcast, wanted)
    tr = catalogs.get(language)
    rows: list[tuple[Button, ...]] = []
    for row in broadcast.buttons or ():
        rows.append(tuple(Button(b.get(language) or b.get("vi") or b.get("en") or "", b["payload"]) for b in row))
    rows.append((Button(tr("Huỷ nhận thông báo"), UNSUBSCRIBE),))
    return Reply(tr("📢 Thông báo của xã\n\n{text}", text=text), tuple(rows))


def preview(broadcast: Broadcast, catalogs: Catalogs, tr: Translator, recipients: int) -> list[Reply]:
    """How the announcement will look, in each language given, and who will get it."""
    out = []
    for lang in ("vi", "en"):
        if getattr(broadcast, f"text_{lang}"):
            out.append(announcement(broadcast, catalogs, lang))
    where = ", ".join(broadcast.villages) if broadcast.villages else tr("cả xã")
    out.append(Reply(tr("Thông báo #{id} ({topic}) sẽ gửi tới {n} người đăng ký ở: {where}.",
                        id=broadcast.id, topic=broadcast.topic, n=recipients, where=where)))
    return out


def report(broadcast: Broadcast, counts: Counts, tr: Translator, final: bool) -> str:
    """The delivery report pushed to the author while sending and at the end."""
    if final:
        return tr("Thông báo #{id} đã gửi xong: {sent} đã nhận, {failed} không gửi được, {skipped} đã huỷ nhận "
                  "(tổng {total}).", id=broadcast.id, sent=counts.sent, failed=counts.failed,
                  skipped=counts.skipped, total=counts.recipients)
    return tr("Thông báo #{id} đang gửi: {sent} đã nhận, {failed} không gửi được, {pending} đang chờ (tổng {total}).",
              id=broadcast.id, sent=counts.sent, failed=counts.failed, pending=counts.pending,
              total=counts.recipients)
