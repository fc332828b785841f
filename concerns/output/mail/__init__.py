"""The mail layer: settings, message building, calendar attachments and transports.

Typical use::

    settings = MailSettings.from_env()
    transport = transport_for(settings)
    with transport.session() as session:
        for mail in mails:
            try:
                session.send(build_message(mail, settings.mail_from, settings.domain))
            except DeliveryError as exc:
                ...  # defer exc.key in the outbox ledger (fail it if exc.permanent); stop if exc.connection
"""

from .ics import all_day_event, escape_text, fold_line, meeting_invitation
from .message import KEY_HEADER, Attachment, OutgoingMail, build_message, message_id_for
from .settings import MailSettings, SmtpEndpoint, build_smtp_url, parse_smtp_url, redact_smtp_url
from .transport import (
    DeliveryError,
    MailSession,
    OutboxDirTransport,
    SmtpSession,
    SmtpTransport,
    Transport,
    transport_for,
)

__all__ = [
    "KEY_HEADER",
    "Attachment",
    "DeliveryError",
    "MailSession",
    "MailSettings",
    "OutboxDirTransport",
    "OutgoingMail",
    "SmtpEndpoint",
    "SmtpSession",
    "SmtpTransport",
    "Transport",
    "all_day_event",
    "build_message",
    "build_smtp_url",
    "escape_text",
    "fold_line",
    "meeting_invitation",
    "message_id_for",
    "parse_smtp_url",
    "redact_smtp_url",
    "transport_for",
]
