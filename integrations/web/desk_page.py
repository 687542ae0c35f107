"""The team desk's page (/staff/): desk.html with every string it shows, in every language, from the catalogs."""

from __future__ import annotations

from integrations.web.page import N_, localized, render
from kernel.i18n import Catalogs

# Every string the desk page shows by itself ({n}, {time}, ... are filled in by desk.js).
UI = {
    "title": N_("Tổ công nghệ số"),
    "username": N_("Tên đăng nhập"),
    "password": N_("Mật khẩu"),
    "login": N_("Đăng nhập"),
    "logout": N_("Đăng xuất"),
    "wrong": N_("Sai tên đăng nhập hoặc mật khẩu."),
    "many": N_("Thử quá nhiều lần. Hãy đợi một phút."),
    "failed": N_("Không kết nối được. Hãy thử lại."),
    "offline": N_("Mất kết nối với máy chủ; trang sẽ tự cập nhật khi có mạng lại."),
    "language": N_("Ngôn ngữ"),
    "inbox": N_("Hộp yêu cầu"),
    "tab_open": N_("Mới"),
    "tab_claimed": N_("Đang xử lý"),
    "tab_waiting": N_("Chờ người dân"),
    "tab_resolved": N_("Đã xong"),
    "filter_village": N_("Thôn"),
    "filter_team": N_("Tổ"),
    "all_villages": N_("Mọi thôn"),
    "all_teams": N_("Mọi tổ"),
    "empty": N_("Không có yêu cầu nào ở đây."),
    "case": N_("Yêu cầu {id}"),
    "waited": N_("đã chờ {time}"),
    "remind_in": N_("nhắc lại sau {time}"),
    "reminded": N_("đã nhắc lại"),
    "escalate_in": N_("chuyển lên {team} sau {time}"),
    "escalated": N_("đã chuyển lên {team}"),
    "answer_from": N_("tổ bắt đầu làm việc lúc {time}"),
    "minutes": N_("{n} phút"),
    "hours": N_("{h} giờ {m} phút"),
    "days": N_("{n} ngày"),
    "now": N_("vừa xong"),
    "claimed_by": N_("đã nhận: {name}"),
    "unclaimed": N_("chưa ai nhận"),
    "state_open": N_("chưa ai nhận"),
    "state_claimed": N_("đang xử lý"),
    "state_resolved": N_("đã xong"),
    "state_returned": N_("đã trả về trợ lý"),
    "state_closed": N_("người dân đã kết thúc"),
    "reason_asked": N_("người dân muốn gặp người hỗ trợ"),
    "reason_stuck": N_("vẫn không làm được sau khi đã thử cách khắc phục"),
    "reason_misunderstood": N_("trợ lý nhiều lần không hiểu"),
    "village": N_("Thôn"),
    "team": N_("Tổ"),
    "channel": N_("Kênh"),
    "lang": N_("Ngôn ngữ của người dân"),
    "reason": N_("Lý do"),
    "doing": N_("Đang làm"),
    "step": N_("bước {n}/{total}"),
    "tried": N_("Đã thử (không được): bước {steps}"),
    "messages": N_("Trao đổi"),
    "from_resident": N_("Người dân"),
    "from_assistant": N_("Trợ lý"),
    "attachments": N_("Tệp đính kèm"),
    "photo": N_("📷 Ảnh"),
    "voice": N_("🎤 Ghi âm"),
    "back": N_("← Hộp yêu cầu"),
    "claim": N_("✋ Nhận"),
    "resolve": N_("✅ Xong"),
    "handback": N_("↩️ Trả về trợ lý"),
    "reassign": N_("Chuyển cho tổ"),
    "reassign_to": N_("Chuyển tới tổ"),
    "reply": N_("Trả lời người dân"),
    "reply_hint": N_("Tin nhắn sẽ được gửi tới người dân. Đừng ghi số CCCD, mật khẩu hay mã OTP."),
    "send": N_("Gửi"),
    "quick": N_("Trả lời nhanh"),
    "ended": N_("Yêu cầu đã kết thúc; không gửi được tin nhắn nữa."),
    "forbidden": N_("Yêu cầu này thuộc tổ khác."),
    "not_found": N_("Không có yêu cầu này."),
    "sent": N_("Đã gửi."),
    "new_case": N_("Có yêu cầu mới"),
}


def desk_strings(catalogs: Catalogs | None) -> dict[str, dict[str, str]]:
    """The page's strings in every language we serve, plus each language's own name."""
    return localized(UI, catalogs)


def desk_page(strings: dict[str, dict[str, str]]) -> str:
    return render("desk.html", strings)
