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

INTENTS = CONVERSATION + VNEID + SERVICES + PAYMENTS + COMMUNITY
# A task intent starts the step-by-step guide (flow) of the same name.
ENTITIES = ("village", "service", "bill_type", "language", "phone_number", "id_number", "otp_code")
