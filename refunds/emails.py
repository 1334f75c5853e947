"""The mails of a refund request (templates in templates/emails/refund_*)."""

from django.utils import timezone

from chorus import mail


def request_filed(request, lines, *, refiled: bool, by, centre=None) -> None:
    """Confirms the sending to who sent it (`by`) and tells every manager of the structure, each once.

    A manager who did not send it reads who did and, for a management centre's user, for which centre. The
    first filing is the request's filer, date and centre; sending back the complement is `by`, now, `centre`.
    """
    structure = request.structure
    context = {
        "request": request,
        "structure": structure,
        "lines": lines,
        "refiled": refiled,
        "filer": by,
        "centre": centre if refiled else request.filer_centre,
        "at": timezone.localtime(timezone.now() if refiled else request.filed_at),
        "request_link": mail.absolute_url(request.get_absolute_url()),
    }
    recipients = {by.notification_email: by}
    for membership in structure.managers_to_notify():
        recipients.setdefault(membership.user.notification_email, membership.user)
    for address, user in recipients.items():
        mail.send("refund_filed", address, {**context, "reader": user, "is_filer": user == by})


def request_event(request, event) -> None:
    """Tells the filer and every manager of the structure, each once, what the tax office did.

    The farm reads « la cellule remboursement », never the instructor's name or address; the message the
    instructor wrote (the complement asked, the reasons) is quoted whole on the request's page.
    """
    structure = request.structure
    context = {
        "request": request,
        "structure": structure,
        "event": event,
        "kind": event.kind,
        "at": timezone.localtime(event.at),
        "lines": list(request.lines.select_related("product")) if request.total_granted is not None else [],
        "request_link": mail.absolute_url(request.get_absolute_url()),
    }
    recipients = {}
    filer = request.filed_by
    # The filer while they still act for the farm (a centre's accountant detached since reads nothing more).
    if filer is not None and filer.is_active and structure.memberships.filter(user=filer).exists():
        recipients[filer.notification_email] = filer
    for membership in structure.managers_to_notify():
        recipients.setdefault(membership.user.notification_email, membership.user)
    for address, user in recipients.items():
        mail.send("refund_event", address, {**context, "reader": user})
