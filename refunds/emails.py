"""The mails of a refund request (templates in templates/emails/refund_*)."""

from django.utils import timezone

from chorus import mail


def request_filed(request, lines, *, refiled: bool) -> None:
    """Confirms the filing to the filer and tells every manager of the structure, each once.

    A manager who is not the filer reads who filed and, for a management centre's user, for which centre.
    """
    structure = request.structure
    context = {
        "request": request,
        "structure": structure,
        "lines": lines,
        "refiled": refiled,
        "filer": request.filed_by,
        "centre": request.filer_centre,
        "at": timezone.localtime(request.filed_at),
        "request_link": mail.absolute_url(request.get_absolute_url()),
    }
    recipients = {request.filed_by.notification_email: request.filed_by}
    for membership in structure.managers_to_notify():
        recipients.setdefault(membership.user.notification_email, membership.user)
    for address, user in recipients.items():
        mail.send("refund_filed", address, {**context, "reader": user, "is_filer": user == request.filed_by})


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
    if request.filed_by is not None and request.filed_by.is_active:
        recipients[request.filed_by.notification_email] = request.filed_by
    for membership in structure.managers_to_notify():
        recipients.setdefault(membership.user.notification_email, membership.user)
    for address, user in recipients.items():
        mail.send("refund_event", address, {**context, "reader": user})
