"""An email backend that stands for an SMTP server refusing every message (tests set
EMAIL_BACKEND to it): what a send does when the mail server says no."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused(
            {message.to[0]: (550, b"5.1.1 Mailbox unavailable") for message in email_messages}
        )
