"""The commune dashboard's page (/staff/dashboard): dashboard.html with every string it shows, in every
language, from the catalogs."""

from __future__ import annotations

import json

from babel import Locale

from integrations.web.page import N_, STATIC
from kernel.i18n import Catalogs

# Every string the page shows by itself ({n} is filled in by dashboard.js).
UI = {
    "title": N_("Số liệu của xã"),
    "desk": N_("← Hộp yêu cầu"),
    "login_first": N_("Hãy đăng nhập ở trang của tổ công nghệ số trước."),
    "login_link": N_("Đăng nhập"),
    "forbidden": N_("Trang này dành cho cán bộ xã (vai trò staff hoặc admin)."),
    "failed": N_("Không tải được số liệu. Hãy thử lại."),
    "from": N_("Từ ngày"),
    "to": N_("Đến ngày"),
    "village": N_("Thôn, xã cũ"),
    "all_places": N_("Mọi nơi"),
    "show": N_("Xem"),
    "csv": N_("Tải CSV"),
    "loading": N_("Đang tải…"),
    "none": N_("Chưa có số liệu trong khoảng này."),
    "funnel": N_("Người dân đi đến đâu trong mỗi hướng dẫn"),
    "guide": N_("Hướng dẫn"),
    "started": N_("Bắt đầu"),
    "completed": N_("Làm xong"),
    "handoff": N_("Nhờ người hỗ trợ"),
    "cancelled": N_("Dừng giữa chừng"),
    "step": N_("Bước"),
    "reached": N_("Đến bước này"),
    "stuck": N_("Bị kẹt"),
    "stuck_title": N_("Những bước người dân hay bị kẹt nhất"),
    "reach": N_("Người dân theo nơi ở và kênh"),
    "place": N_("Nơi ở"),
    "unknown_place": N_("(chưa rõ)"),
    "channel": N_("Kênh"),
    "residents": N_("Người dân"),
    "new": N_("Mới trong kỳ"),
    "active": N_("Có nhắn trong kỳ"),
    "subscribed": N_("Nhận thông báo"),
    "languages": N_("Ngôn ngữ"),
    "language": N_("Ngôn ngữ"),
    "lang_default": N_("(mặc định)"),
    "handoff_title": N_("Chuyển cho tổ công nghệ số"),
    "team": N_("Tổ"),
    "opened": N_("Yêu cầu"),
    "claimed": N_("Đã nhận"),
    "resolved": N_("Đã xong"),
    "solved": N_("Người dân nói đã được giải quyết"),
    "not_solved": N_("Người dân nói chưa"),
    "minutes_to_claim": N_("Phút đến khi có người nhận (trung vị)"),
    "unanswered": N_("Câu trợ lý chưa trả lời được"),
    "unanswered_hint": N_("Tin nhắn đã che số và mã, gộp theo cách viết. Thêm câu trả lời hoặc ví dụ huấn luyện, "
                          "rồi bấm “Đã xử lý”."),
    "message": N_("Tin nhắn"),
    "times": N_("Số lần"),
    "kind": N_("Loại"),
    "kind_out_of_scope": N_("ngoài phạm vi"),
    "kind_low_confidence": N_("chưa chắc hiểu"),
    "mark_handled": N_("Đã xử lý"),
    "broadcasts": N_("Thông báo đã gửi"),
    "created": N_("Soạn lúc"),
    "author": N_("Người gửi"),
    "audience": N_("Gửi tới"),
    "status": N_("Trạng thái"),
    "recipients": N_("Người nhận"),
    "sent": N_("Đã gửi"),
    "not_delivered": N_("Lỗi"),
    "waiting": N_("Đang chờ"),
    "skipped": N_("Bỏ qua"),
    "unsubscribed": N_("Huỷ nhận trong 48 giờ sau"),
    # The commune's data page (/staff/community).
    "community": N_("Lịch của xã"),
    "to_community": N_("Lịch của xã →"),
    "to_dashboard": N_("Số liệu của xã →"),
    "community_hint": N_("Chỉ ghi những buổi xã đã công bố. Ngày đã qua tự ẩn với người dân. Khi danh sách trống, "
                         "người dân được báo là xã chưa công bố lịch."),
    "schedule": N_("Lịch điểm dịch vụ công lưu động"),
    "classes": N_("Lớp “Bình dân học vụ số”"),
    "date": N_("Ngày (YYYY-MM-DD)"),
    "start": N_("Bắt đầu (HH:MM)"),
    "end": N_("Kết thúc (HH:MM)"),
    "place_vi": N_("Địa điểm"),
    "place_en": N_("Địa điểm (tiếng Anh)"),
    "topic": N_("Nội dung"),
    "topic_en": N_("Nội dung (tiếng Anh)"),
    "villages_for": N_("Dành cho (mã thôn, cách nhau bằng dấu phẩy; để trống: cả xã)"),
    "add": N_("Thêm buổi"),
    "remove": N_("Xoá"),
    "save": N_("Lưu"),
    "saved": N_("Đã lưu. Người dân thấy lịch mới ngay."),
    "refused": N_("Không lưu (lịch cũ vẫn giữ nguyên):"),
    "history": N_("Lịch sử thay đổi"),
    "past": N_("đã qua"),
    # Announcements from the browser (/staff/announce).
    "announce": N_("Gửi thông báo tới người dân"),
    "to_announce": N_("Gửi thông báo →"),
    "not_linked": N_("Tài khoản này chưa được ghi là người gửi thông báo trong staff.yml (web_username). Hãy nhờ "
                     "văn phòng xã thêm."),
    "sender": N_("Gửi với tên"),
    "text_vi": N_("Nội dung (tiếng Việt)"),
    "text_en": N_("Nội dung (tiếng Anh, không bắt buộc)"),
    "subject": N_("Chủ đề (ví dụ: lịch, lớp học, lừa đảo)"),
    "send_to": N_("Gửi tới"),
    "whole_commune": N_("Cả xã"),
    "at": N_("Gửi lúc (để trống: gửi ngay)"),
    "preview": N_("Xem trước"),
    "preview_lang": N_("Người dân dùng {lang} sẽ nhận:"),
    "will_reach": N_("Sẽ gửi tới {n} người đăng ký nhận thông báo"),
    "send": N_("Gửi thông báo"),
    "changed": N_("Nội dung đã đổi: bấm “Xem trước” lại trước khi gửi."),
    "approve": N_("Duyệt"),
    "stop": N_("Dừng gửi"),
    "progress": N_("Tiến độ"),
    "recent": N_("Thông báo gần đây"),
    "st_awaiting_approval": N_("Chờ duyệt: người duyệt (không phải người soạn) mở thông báo này và bấm “Duyệt”."),
    "st_scheduled": N_("Đã xếp lịch, sắp gửi"),
    "st_sending": N_("Đang gửi"),
    "st_done": N_("Đã gửi xong"),
    "st_cancelled": N_("Đã dừng"),
    "open": N_("Xem"),
}


def dashboard_strings(catalogs: Catalogs | None) -> dict[str, dict[str, str]]:
    """The page's strings in every language we serve, plus each language's own name."""
    if catalogs is None:
        return {"vi": {**UI, "name": "Tiếng Việt"}}
    out: dict[str, dict[str, str]] = {}
    for lang in catalogs.languages:
        tr = catalogs.get(lang)
        out[lang] = {key: tr(msgid) for key, msgid in UI.items()}
        out[lang]["name"] = (Locale.parse(lang).get_display_name(lang) or lang).capitalize()
    return out


def dashboard_page(strings: dict[str, dict[str, str]]) -> str:
    """dashboard.html with the strings in a JSON data block (not a script: the CSP's script-src 'self' holds)."""
    data = json.dumps(strings, ensure_ascii=False).replace("<", "\\u003c")
    html = (STATIC / "dashboard.html").read_text(encoding="utf-8")
    return html.replace("{{strings}}", data).replace("{{title}}", strings["vi"]["title"])
