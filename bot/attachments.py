"""The core's answer to an attachment (contact card, location, photo, sticker, ...): text only, please.

Nothing of the attachment reaches the core but its kind, and answering it stores nothing: no resident
row is created and no message is logged (a contact card or location must leave no trace)."""

from __future__ import annotations

from kernel.i18n import Catalogs, Translator
from kernel.messages import Incoming, Reply, TurnResult, TurnState
from kernel.ports import ResidentDirectory


def _answer(tr: Translator, channel: str, kind: str) -> str:
    # The Zalo channel has always answered every attachment in its own words; both wordings are kept
    # as residents know them (merging them is a content decision, not a restructuring one).
    if channel == "zalo":
        return tr("Xin lỗi, tôi chỉ đọc được tin nhắn chữ. Bạn hãy gõ câu hỏi, hoặc chọn chủ đề.")
    if kind in ("contact", "location"):
        return tr("Cảm ơn bạn. Trợ lý không cần số điện thoại hay vị trí của bạn và không lưu lại. "
                  "Bạn cứ nhắn câu hỏi bằng chữ nhé.")
    return tr("Trợ lý chỉ đọc được tin nhắn chữ. Bạn nhắn câu hỏi bằng chữ hoặc chọn chủ đề nhé.")


async def answer_attachment(msg: Incoming, residents: ResidentDirectory, catalogs: Catalogs) -> TurnResult:
    """The polite answer to an attachment, in the resident's saved language (else the platform's)."""
    assert msg.attachment is not None
    language = catalogs.negotiate(await residents.language(msg.who), msg.platform_language)
    reply = Reply(_answer(catalogs.get(language), msg.who.channel, msg.attachment))
    return TurnResult((reply,), TurnState(None, None, None, None, language))
