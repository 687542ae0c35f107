"""What the resident is told when a case opens: its number, whether and when a person answers here, and
the team's own contacts from teams.yml. The words promise only what is happening: "a person will answer
here" only when someone can see the case (the team's Telegram group, or a web desk account), a time only
from the team's confirmed hours, and never a phone number or a place the commune has not given."""

from __future__ import annotations

from datetime import datetime

from kernel.commune.teams import Team, Teams
from kernel.i18n import Translator

VNEID_FLOWS = "vneid"  # guides whose problems the VNeID hotline also handles (flow ids start with it)


def _days(tr: Translator, team: Team) -> str:
    names = (tr("thứ Hai"), tr("thứ Ba"), tr("thứ Tư"), tr("thứ Năm"), tr("thứ Sáu"), tr("thứ Bảy"), tr("Chủ nhật"))
    days = sorted(team.hours.days)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return tr("{first} đến {last}", first=names[days[0]], last=names[days[-1]])
    return ", ".join(names[d] for d in days)


def contacts(tr: Translator, team: Team) -> list[str]:
    """The team's phone, place, hours and how to meet them, as far as teams.yml gives them."""
    lines = []
    if team.phone:
        lines.append(tr("Điện thoại của tổ: {phone}", phone=team.phone))
    place = team.text("place", tr.language) or team.text("contact", tr.language)
    if place:
        lines.append(tr("Gặp tổ tại: {place}", place=place))
    if team.hours_known and team.hours.days:
        lines.append(tr("Giờ làm việc: {start}–{end}, {days}", start=team.hours.start.strftime("%H:%M"),
                        end=team.hours.end.strftime("%H:%M"), days=_days(tr, team)))
    return lines


def opened(tr: Translator, case_id: int, place: str, team: Team, teams: Teams, now: datetime, answered: bool,
           flow: str | None) -> str:
    """The reply to a resident whose case was just opened; `place` names where they live, as they say it."""
    name = team.text("name", tr.language)
    if not answered:
        first = tr("Đã ghi lại yêu cầu số {case} ({place}) cho {team}. Hiện chưa có ai của tổ trực để trả lời "
                   "bạn tại đây, nên bạn hãy liên hệ tổ trực tiếp.", case=case_id, place=place, team=name)
    elif not team.hours_known:
        first = tr("Đã chuyển yêu cầu số {case} ({place}) tới {team}. Một người trong tổ sẽ trả lời bạn ngay tại "
                   "đây khi đọc được. Bạn cứ nhắn thêm, tổ sẽ đọc được.", case=case_id, place=place, team=name)
    elif team.hours.is_open(teams.local(now)):
        first = tr("Đã chuyển yêu cầu số {case} ({place}) tới {team}. Một người trong tổ sẽ trả lời bạn ngay tại "
                   "đây, thường trong khoảng {minutes} phút. Bạn cứ nhắn thêm, tổ sẽ đọc được.",
                   case=case_id, place=place, team=name, minutes=int(teams.remind_after.total_seconds() // 60))
    else:
        back = teams.answer_from(team, now)
        first = tr("Đã chuyển yêu cầu số {case} ({place}) tới {team}. Tổ đang nghỉ; một người trong tổ sẽ trả lời "
                   "bạn ngay tại đây từ {time} ngày {date}. Bạn cứ nhắn thêm, tổ sẽ đọc được.",
                   case=case_id, place=place, team=name, time=back.strftime("%H:%M"), date=back.strftime("%d/%m"))
    lines = [first, *contacts(tr, team)]
    if not answered and len(lines) == 1:
        lines.append(tr("Bạn có thể gặp trưởng thôn hoặc đến điểm phục vụ hành chính công của xã."))
    if flow is not None and flow.startswith(VNEID_FLOWS):
        lines.append(tr("Việc về tài khoản VNeID cũng có thể hỏi tổng đài VNeID 1900 0368 (bấm phím 4)."))
    return "\n".join(lines)


def still_unanswered(tr: Translator, case_id: int, team: Team | None) -> str:
    """The reply to each further message of a case nobody can see here: where the team really is (so "bao giờ
    có người trả lời?" is answered), and how to go back to the assistant."""
    lines = [tr("Đã ghi vào yêu cầu số {case}. Hiện chưa có ai của tổ trực để trả lời tại đây, nên sẽ không có "
                "trả lời ở đây; bạn hãy liên hệ tổ trực tiếp.", case=case_id)]
    lines += contacts(tr, team) if team is not None else []
    if len(lines) == 1:
        lines.append(tr("Bạn có thể gặp trưởng thôn hoặc đến điểm phục vụ hành chính công của xã."))
    lines.append(tr("Bấm “Kết thúc yêu cầu” để trợ lý tiếp tục giúp bạn."))
    return "\n".join(lines)
