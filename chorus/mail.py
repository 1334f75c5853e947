"""The one place that turns an e-mail template trio into a queued mail.

Each mail is `templates/emails/<name>_subject.txt`, `_body.txt` and
`_body.html`. It is stored by django-post-office in the caller's transaction,
so a step that rolls back leaves no mail behind, and a mail is never lost
when the SMTP server is down: the worker retries it. Text that someone typed
for another person reaches the mail through `free_text`.

A step whose work differs by account runs after the response
(`after_response`): rendering and storing a mail takes milliseconds, which an
answer that waited on it would show.
"""

import logging
import re
import unicodedata
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial

from django.conf import settings
from django.core.mail.backends import console
from django.core.signals import request_finished, request_started
from django.db import transaction
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone
from post_office import mail as post_office
from post_office.connections import connections as mail_connections
from post_office.models import STATUS, Email, Log
from post_office.settings import get_max_retries, get_retry_timedelta

# How much of someone's free text a mail quotes; the page the mail links to shows it whole.
FREE_TEXT_LENGTH = 300
# What mail clients turn into links: a scheme (https://); a full stop between two words, as in
# www.exemple.fr, exemple.fr or jean@exemple.fr (the ideographic and full-width stops, which
# browsers read as one, included); the four numbers of an IPv4 address.
_SCHEME = re.compile(r"(?<=\w):(?=//)")
_STOP = re.compile(r"(?<=(\w))[.\u3002\uff0e\uff61](?=(\w))")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def absolute_url(path: str) -> str:
    """A link for a mail: the portal's address (`SITE_URL`) and the path."""
    return f"{settings.SITE_URL}{path}"


def free_text(text: str, length: int = FREE_TEXT_LENGTH) -> str:
    """What someone typed, fit to quote in an official mail to someone else.

    The portal's mails carry its name, so a stranger's words in them must read as
    quoted, not as the portal's: one paragraph (no line breaks to fake the mail's own
    layout; invisible and bidirectional characters dropped), at most `length`
    characters then « … », and no address a mail client would make clickable. Mail
    clients turn text into links on their own, in the text part and in the HTML part
    alike, so escaping the HTML is not enough: « https://exemple.fr » becomes
    « https[:]//exemple[.]fr » and « jean@exemple.fr » « jean@exemple[.]fr ». The
    brackets are visible on purpose, the convention of security notices: a farmer
    still reads the address and sees that the portal disabled it, where an invisible
    character would be lost to some clients and copied along by others. Numbers
    (« 3.5 ha ») are left as typed. The templates introduce the text as its author's.
    """
    visible = "".join(c for c in text if not unicodedata.category(c).startswith(("Cc", "Cf")) or c.isspace())
    text = " ".join(visible.split())
    if len(text) > length:
        cut = text[:length]
        text = (cut.rsplit(" ", 1)[0] if " " in cut else cut) + " …"
    text = _IPV4.sub(lambda match: match.group().replace(".", "[.]"), text)
    text = _STOP.sub(lambda match: match.group() if f"{match[1]}{match[2]}".isdigit() else "[.]", text)
    return _SCHEME.sub("[:]", text)


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
    """Send every mail due (the worker's job), each marked sent as soon as it is: (sent, failed, requeued).

    django-post-office's own `send_queued()` marks a whole batch sent once the batch has left;
    a worker killed in between (its node lost) leaves the batch queued, and the worker that
    takes over sends it again. Here that window is one mail wide. A mail that fails is put
    back for a later pass, `MAX_RETRIES` times `RETRY_INTERVAL` apart, then marked failed.
    """
    emails = list(post_office.get_queued())
    post_office.attach_templates(emails)
    sent = failed = requeued = 0
    try:
        for email in emails:
            try:
                # One SMTP connection per backend for the whole pass, opened by the first mail that needs it.
                email.dispatch(commit=False, disconnect_after_delivery=False)
            except Exception as error:  # anything SMTP or the template may raise: the mail waits, the rest go on
                logger.warning("Mail #%s not sent: %s", email.pk, type(error).__name__)
                if _put_back(email, error):
                    requeued += 1
                else:
                    failed += 1
                continue
            Email.objects.filter(pk=email.pk).update(status=STATUS.sent, last_updated=timezone.now())
            Log.objects.create(email=email, status=STATUS.sent)
            sent += 1
    finally:
        mail_connections.close()
    return sent, failed, requeued


def _put_back(email: Email, error: Exception) -> bool:
    """Schedules another try of `email`, or marks it failed for good; True if it will be tried again."""
    tries = (email.number_of_retries or 0) + 1
    again = tries <= get_max_retries()
    Email.objects.filter(pk=email.pk).update(
        status=STATUS.requeued if again else STATUS.failed,
        number_of_retries=tries if again else email.number_of_retries,
        scheduled_time=timezone.now() + get_retry_timedelta() if again else email.scheduled_time,
        last_updated=timezone.now(),
    )
    Log.objects.create(email=email, status=STATUS.failed, message=str(error), exception_type=type(error).__name__)
    return again


logger = logging.getLogger(__name__)
# The steps left for after the response of the request being served (None: no request).
_deferred: ContextVar[list | None] = ContextVar("deferred_steps", default=None)


def after_response(step: Callable[..., object], *args, **kwargs) -> None:
    """Runs `step(*args, **kwargs)` once the response has left; at once outside a request.

    For the visitor's steps whose outcome depends on an account that the page must
    not reveal (« Créer mon compte », « Mot de passe oublié », « Recevoir un nouveau
    lien »): the answer is sent before the account is looked at, so its timing is the
    same for every address. `step` opens its own transaction, so nothing is half-saved
    if it fails; call this where no transaction is open, as a rollback cannot take it back.
    """
    steps = _deferred.get()
    if steps is None:
        step(*args, **kwargs)
    else:
        steps.append(partial(step, *args, **kwargs))


@receiver(request_started, dispatch_uid="chorus.mail.open_deferred_steps")
def _open_deferred_steps(**kwargs) -> None:
    _deferred.set([])


@receiver(request_finished, dispatch_uid="chorus.mail.run_deferred_steps")
def _run_deferred_steps(**kwargs) -> None:
    """The WSGI server has written the response and closes it (the test client does the same)."""
    steps = _deferred.get() or []
    _deferred.set(None)
    for step in steps:
        try:
            step()
        except Exception:
            # The visitor already has the answer: the failure goes to the log, the step's
            # transaction has left nothing behind. No arguments logged: they are addresses.
            logger.exception("The step %s, run after the response, failed", step.func.__qualname__)


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
