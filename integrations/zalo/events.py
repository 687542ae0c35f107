"""Zalo webhook bodies (OA events, Bot API updates) reduced to what the assistant acts on."""

from __future__ import annotations

from dataclasses import dataclass

# OA events that are a resident sending something other than text, and the attachment kind of each.
# Images and audio carry their file's address: message.attachments[0].payload.url.
_OA_FILES = {"user_send_image": "image", "user_send_audio": "audio"}
_OA_MEDIA = {"user_send_image": "media", "user_send_gif": "media", "user_send_sticker": "media",
             "user_send_audio": "media", "user_send_video": "media", "user_send_file": "media",
             "user_send_location": "location", "user_send_link": "media", "user_send_business_card": "contact"}


@dataclass(frozen=True)
class Event:
    """A verified Zalo event reduced to what the assistant acts on."""

    kind: str  # "text" | "follow" | "unfollow" | "attachment" | "ignored"
    user_id: str
    text: str | None = None  # the text, or the attachment's kind (kernel.messages.ATTACHMENTS)
    message_id: str | None = None
    url: str | None = None  # an image's or audio's address on Zalo, for the resident's case
    caption: str | None = None  # what the resident wrote with it


def _str(value: object) -> str:
    return str(value) if value is not None else ""


def _dict(value: object) -> dict[str, object]:
    """A JSON object of the body, or an empty one when the field is missing or not an object."""
    return value if isinstance(value, dict) else {}


def parse_oa_event(body: dict[str, object]) -> Event:
    """An OA webhook body (user_send_text, follow, unfollow, user_send_image, ...) as an Event."""
    name = _str(body.get("event_name"))
    sender, follower, message = _dict(body.get("sender")), _dict(body.get("follower")), _dict(body.get("message"))
    user = _str(sender.get("id")) or _str(follower.get("id")) or _str(body.get("user_id_by_app"))
    msg_id = _str(message.get("msg_id") or message.get("mid")) or None
    timestamp = _str(body.get("timestamp"))
    if name in ("user_send_text", "user_click_button"):
        return Event("text", user, _str(message.get("text")), msg_id)
    if name == "follow":
        return Event("follow", user, message_id=f"follow:{timestamp}")
    if name == "unfollow":
        return Event("unfollow", user)
    if name in _OA_MEDIA:
        return Event("attachment", user, _OA_MEDIA[name], message_id=msg_id,
                     url=_oa_file_url(message, _OA_FILES[name]) if name in _OA_FILES else None,
                     caption=_str(message.get("text")) or None)
    return Event("ignored", user)


def _oa_file_url(message: dict[str, object], kind: str) -> str | None:
    """The address of the first attachment of that kind (an image, an audio note), if it is a web address."""
    attachments = message.get("attachments")
    for item in attachments if isinstance(attachments, list) else []:
        item = _dict(item)
        url = _str(_dict(item.get("payload")).get("url"))
        if item.get("type") == kind and url.startswith(("https://", "http://")):
            return url
    return None


def parse_bot_event(body: dict[str, object]) -> Event:
    """A Zalo Bot API update (message.text.received, message.image.received, ...) as an Event."""
    name = _str(body.get("event_name"))
    message = _dict(body.get("message"))
    chat, sender = _dict(message.get("chat")), _dict(message.get("from"))
    user = _str(chat.get("id")) or _str(sender.get("id"))
    msg_id = _str(message.get("message_id")) or None
    if name == "message.text.received":
        return Event("text", user, _str(message.get("text")), msg_id)
    if name.startswith("message.") and name.endswith(".received"):
        photo = _str(message.get("photo")) if name == "message.image.received" else ""
        return Event("attachment", user, "media", message_id=msg_id,
                     url=photo if photo.startswith(("https://", "http://")) else None,
                     caption=_str(message.get("caption")) or None)
    return Event("ignored", user)
