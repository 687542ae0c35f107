"""The intent and entity names of the contract (../shared/INTENTS.md). Never rename or drop one."""

CONVERSATION = ("greet", "goodbye", "thank", "affirm", "deny", "help", "cancel", "human_handoff", "stuck",
                "change_language", "bot_challenge", "out_of_scope")
VNEID = ("vneid_install", "vneid_register", "vneid_level2", "vneid_activation_code", "vneid_nfc_problem",
         "vneid_face_problem", "vneid_forgot_passcode", "vneid_change_device", "vneid_integrate_docs")
SERVICES = ("portal_login", "portal_submit", "portal_track", "residence_registration", "birth_registration",
            "judicial_record", "ihanoi_feedback")
PAYMENTS = ("epay_setup", "pay_utility_bill", "pay_public_fee", "pay_qr")
COMMUNITY = ("report_scam", "mobile_service_schedule", "digital_skills_class", "subscribe", "unsubscribe",
             "contact_support_team")

# The contract's intents: the held-out set (nlu/eval/heldout.jsonl) labels exactly these.
INTENTS = CONVERSATION + VNEID + SERVICES + PAYMENTS + COMMUNITY
# A task intent starts the step-by-step guide (flow) of the same name.
TASKS = VNEID + SERVICES + PAYMENTS + ("report_scam",)
# Variants of a task agreed for issues 15 and 16 (notes/names.md), each served by its own guide.
# Not yet in INTENTS: they join it with their training data (nlu/data) and held-out examples.
VARIANT_TASKS = ("scam_victim", "wrong_transfer", "vneid_child", "no_smartphone", "guest_stay",
                 "bank_forgot_password")
ENTITIES = ("village", "service", "bill_type", "language", "phone_number", "id_number", "otp_code")

# Added for issue 16 (../notes/names.md): situations with their own guide or answer, resuming a paused
# guide, and an old (pre-July-2025) address to look up.
SITUATIONS = VARIANT_TASKS
ENGINE = ("resume_guide", "old_address", "my_data")
ADDED = SITUATIONS + ENGINE
# A short fact question: `faq_<id>` asks for the knowledge-base entry <id> (dialogues/knowledge/*.yml).
FAQ_PREFIX = "faq_"


def is_known(name: str) -> bool:
    """Whether the model may answer this intent: the contract's, the added ones, or a faq_ entry."""
    return name in INTENTS or name in ADDED or (name.startswith(FAQ_PREFIX) and len(name) > len(FAQ_PREFIX))
