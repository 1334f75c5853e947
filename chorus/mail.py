"""The one place that turns an e-mail template trio into a queued mail.

Each mail is `templates/emails/<name>_subject.txt`, `_body.txt` and
`_body.html`. It is stored by django-post-office in the caller's transaction,
so a step that rolls back leaves no mail behind, and a mail is never lost
when the SMTP server is down: the worker retries it.
"""

from django.conf import settings
from django.core.mail.backends import console
from django.db import transaction
from django.template.loader import render_to_string
from post_office import mail as post_office
from post_office.models import STATUS, Email


def absolute_url(path: str) -> str:
    """A link for a mail: the portal's address (`SITE_URL`) and the path."""
    return f"{settings.SITE_URL}{path}"


def send(name: str, to: str, context: dict) -> Email:
    context = {"site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    email = post_office.send(
        recipients=[to],
        sender=settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        message=render_to_string(f"emails/{name}_body.txt", context),
        html_message=render_to_string(f"emails/{name}_body.html", context),
        priority="medium",
    )
    if settings.MAIL_SEND_ON_COMMIT:
        transaction.on_commit(lambda: deliver(email.pk), robust=True)
    return email


def deliver(email_id: int) -> None:
    """Send one queued mail now; if it fails, the worker will retry it."""
    email = Email.objects.filter(pk=email_id, status=STATUS.queued).first()
    if email is None:
        return
    if email.dispatch() == STATUS.failed:
        # dispatch() marks it failed for good; put it back for the worker.
        Email.objects.filter(pk=email_id).update(status=STATUS.requeued)


def deliver_queued() -> tuple[int, int, int]:
    """Send every mail due (the worker's job): (sent, failed, requeued)."""
    return post_office.send_queued()


class ReadableConsoleBackend(console.EmailBackend):
    """Development mail: headers and the text body, decoded, so links can be opened from the terminal.

    Django's console backend prints the raw MIME message, whose quoted-printable
    encoding breaks long links across lines.
    """

    def write_message(self, message):
        self.stream.write(
            f"\n----- Mail -----\nFrom: {message.from_email}\nTo: {', '.join(message.to)}\n"
            f"Subject: {message.subject}\n\n{message.body}\n----------------\n"
        )
