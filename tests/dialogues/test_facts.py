"""Short answers beside the guides (issue 16): knowledge-base facts and old addresses, outside a guide and
inside one (the step kept, "Tiếp tục Bước N/M" offered). The engine is pure: parses are given to it."""

from __future__ import annotations

import pytest

from dialogues.engine import Context, Pressed, Resident, Said, advance
from dialogues.state import DialogueState
from dialogues.turn import Outcome
from kernel.commune import load_commune
from kernel.i18n import Catalogs
from kernel.settings import Settings
from nlu.types import Entity, Parse
from tests.fakes.services import project_library


@pytest.fixture
def ctx(settings: Settings) -> Context:
    return Context(library=project_library(),
                   catalogs=Catalogs(settings.locales_dir, settings.languages, settings.default_language),
                   commune=load_commune(settings.commune_dir), resident=Resident("vi"))


def said(intent: str, text: str = "…") -> Said:
    return Said(Parse(text, intent, 0.9, ((intent, 0.9),)))


def text(out: Outcome) -> str:
    return "\n".join(r.text for r in out.replies)


def labels(out: Outcome) -> list[str]:
    return [b.label for r in out.replies for b in r.flat_buttons()]


def test_the_knowledge_base_is_loaded_beside_the_guides(ctx: Context) -> None:
    assert ctx.library.knowledge.get("faq_vneid_hotline") is not None
    assert len(ctx.library.knowledge.entries) >= 40


def test_a_fact_outside_a_guide_is_answered_and_offers_its_guides(ctx: Context) -> None:
    out = advance(ctx, DialogueState(), said("faq_vneid_hotline"))
    assert "1900 0368" in text(out) and "phím 4" in text(out)
    assert out.state.flow is None
    payloads = [b.payload for r in out.replies for b in r.flat_buttons()]
    assert "flow:vneid_change_device" in payloads and "menu" in payloads
    assert "chưa giúp được" not in text(out)


def test_a_fact_inside_a_guide_keeps_the_step_and_offers_to_go_on(ctx: Context) -> None:
    state = advance(ctx, DialogueState(), said("judicial_record")).state
    state = advance(ctx, state, Pressed("done")).state
    assert state.step is not None
    out = advance(ctx, state, said("faq_judicial_record_fee"))
    assert "200.000" in text(out)
    assert (out.state.flow, out.state.step) == ("judicial_record", state.step)
    total = len(ctx.library.flows["judicial_record"].steps)
    assert f"Tiếp tục Bước 2/{total}" in labels(out)
    back = advance(ctx, out.state, Pressed("resume"))
    assert back.replies[-1].text.startswith(f"Bước 2/{total}")


def test_a_fact_in_english_is_the_translated_answer(ctx: Context) -> None:
    en = Context(ctx.library, ctx.catalogs, ctx.commune, Resident("en"))
    out = advance(en, DialogueState(), said("faq_judicial_record_fee"))
    assert "200,000" in text(out) or "200.000" in text(out)
    assert "lý lịch" not in text(out).lower()


@pytest.mark.parametrize(("question", "new"), [
    ("Hòa Lâm cũ giờ thuộc xã nào", "Xã Ứng Hòa"),
    ("xa hoa vien cu bay gio la xa nao", "Xã Ứng Thiên"),
    ("xã Thái Hòa huyện Ứng Hòa cũ giờ thuộc xã nào", "Xã Hòa Xá"),
    ("phường Phúc Xá quận Ba Đình cũ giờ là phường nào", "Phường Hồng Hà"),
])
def test_an_old_address_gets_its_new_commune(ctx: Context, question: str, new: str) -> None:
    out = advance(ctx, DialogueState(), said("old_address", question))
    assert new in text(out)
    assert out.state.flow is None and out.state.awaiting is None


def test_an_unconfirmed_merger_says_so(ctx: Context) -> None:
    assert "đối chiếu" in text(advance(ctx, DialogueState(), said("old_address", "Đại Cường cũ giờ thuộc xã nào")))
    assert "đối chiếu" not in text(advance(ctx, DialogueState(), said("old_address", "Hoa Viên cũ giờ là xã gì")))


def test_an_old_address_question_without_a_name_asks_for_it_then_answers(ctx: Context) -> None:
    asked = advance(ctx, DialogueState(), said("old_address", "xã cũ giờ thuộc xã nào"))
    assert "?" in text(asked) and asked.state.awaiting == "old_address"
    out = advance(ctx, asked.state, said("out_of_scope", "xa truong thinh"))
    assert "Xã Ứng Thiên" in text(out) and out.state.awaiting is None


def test_an_old_address_mid_guide_keeps_the_step(ctx: Context) -> None:
    state = advance(ctx, DialogueState(), said("portal_submit")).state
    out = advance(ctx, state, said("old_address", "chọn cơ quan thì tôi ở Trầm Lộng cũ chọn xã nào"))
    assert "Xã Ứng Hòa" in text(out)
    assert (out.state.flow, out.state.step) == (state.flow, state.step)
    assert any(label.startswith("Tiếp tục Bước 1/") for label in labels(out))


def test_a_loosely_asked_fact_of_the_open_guide_is_answered(ctx: Context) -> None:
    state = advance(ctx, DialogueState(), said("judicial_record")).state
    unsure = Said(Parse("thế hết bao nhiêu tiền hả cháu?", "faq_judicial_record_fee", 0.41,
                        (("faq_judicial_record_fee", 0.41), ("pay_public_fee", 0.2))))
    out = advance(ctx, state, unsure)
    assert "200.000" in text(out) and out.state.step == state.step
    # The same words outside that guide are not sure enough: a clarifying question.
    assert "200.000" not in text(advance(ctx, DialogueState(), unsure))


def test_in_a_guide_its_own_fact_is_preferred_to_another_tasks(ctx: Context) -> None:
    state = advance(ctx, DialogueState(), said("vneid_level2")).state
    loose = Said(Parse("làm ở công an huyện được không", "faq_level2_where", 0.22,
                       (("faq_level2_where", 0.22), ("stuck", 0.21))))
    out = advance(ctx, state, loose)
    assert "bất kỳ công an xã" in text(out) and out.state.step == state.step
    other = Said(Parse("thế làm mất bao lâu?", "faq_birth_registration_time", 0.5,
                       (("faq_birth_registration_time", 0.5), ("faq_level2_process", 0.21))))
    out = advance(ctx, state, other)
    assert "vân tay" in text(out) and "3 ngày" not in text(out)
    # Outside the guide the best reading stands.
    assert "vân tay" not in text(advance(ctx, DialogueState(), other))


def test_a_former_commune_named_as_such_is_an_old_address_question(ctx: Context) -> None:
    state = advance(ctx, DialogueState(), said("portal_submit")).state
    asked = "chọn cơ quan thì tôi ở Trầm Lộng cũ chọn xã nào"
    out = advance(ctx, state, Said(Parse(asked, "faq_judicial_record_agency", 0.56,
                                         (("faq_judicial_record_agency", 0.56),))))
    assert "Xã Ứng Hòa" in text(out) and out.state.step == state.step
    plain = advance(ctx, DialogueState(), Said(Parse("sổ hộ khẩu cũ còn dùng được không", "faq_level2_documents",
                                                     0.8, (("faq_level2_documents", 0.8),))))
    assert "nay thuộc" not in text(plain)


def test_a_fact_offered_in_a_clarifying_question_is_labelled_by_its_answer(ctx: Context) -> None:
    unsure = Said(Parse("…", "faq_level2_where", 0.3, (("faq_level2_where", 0.3), ("faq_vneid_hotline", 0.28))))
    out = advance(ctx, DialogueState(), unsure)
    assert not any(label.startswith("faq_") for label in labels(out))
    assert any(label.startswith("Không cần về đúng xã") and len(label) <= 61 for label in labels(out))


def test_a_fee_asked_without_naming_the_task_is_the_open_guides_fee(ctx: Context) -> None:
    """Played over the web chat: "phi bao nhieu" in the residence guide was read as the judicial record's
    fee and answered "200.000 đồng"; it is the open guide's own fee (online procedures), the step kept."""
    state = advance(ctx, DialogueState(), said("residence_registration")).state
    loose = Said(Parse("phi bao nhieu", "faq_judicial_record_fee", 0.58,
                       (("faq_judicial_record_fee", 0.58), ("pay_public_fee", 0.1))))
    out = advance(ctx, state, loose)
    assert "0 đồng" in text(out) and "200.000" not in text(out)
    assert out.state.step == state.step and any(label.startswith("Tiếp tục Bước 1/") for label in labels(out))
    # Naming the other task asks for its fee, whichever guide is open.
    named = Said(Parse("phi lam ly lich tu phap bao nhieu", "faq_judicial_record_fee", 0.66,
                       (("faq_judicial_record_fee", 0.66),), (Entity("service", "lý lịch tư pháp", 8, 23),)))
    assert "200.000" in text(advance(ctx, state, named))


def test_a_guide_without_a_confirmed_fee_says_so_rather_than_another_tasks_figure(ctx: Context) -> None:
    state = advance(ctx, DialogueState(), said("vneid_install")).state
    for asked in ("faq_judicial_record_fee", "faq_birth_registration_time"):
        out = advance(ctx, state, Said(Parse("phí bao nhiêu? mất bao lâu?", asked, 0.5, ((asked, 0.5),))))
        assert "chưa có" in text(out) and "đã được xác nhận" in text(out) and "Cài ứng dụng VNeID" in text(out)
        assert "200.000" not in text(out) and "3 ngày" not in text(out)
        assert out.state.step == state.step
    # Outside a guide the reading stands.
    assert "200.000" in text(advance(ctx, DialogueState(), said("faq_judicial_record_fee", "phi bao nhieu")))
