"""The mails of the approval steps, one function each (templates in templates/emails/)."""

from django.urls import reverse

from approvals.models import ApprovalRequest
from chorus import mail


def attachment_requested(approval_request: ApprovalRequest) -> None:
    """Tells the structure's managers (the main manager first) that someone asks to be attached."""
    delegation = ApprovalRequest.objects.with_delegation().values_list("from_centre", flat=True)
    context = {
        "approval_request": approval_request,
        "from_centre": delegation.get(pk=approval_request.pk),
        "link": mail.absolute_url(reverse("approvals:approval_detail", args=[approval_request.pk])),
    }
    # Staff find structures without an active main manager in the admin.
    for membership in approval_request.structure.managers_to_notify():
        mail.send(
            "attachment_requested",
            membership.user.notification_email,
            {**context, "manager": membership.user, "is_main_manager": membership.is_main_manager},
        )


def decision_made(approval_request: ApprovalRequest) -> None:
    """Tells the requester that their request was approved, or refused and why."""
    mail.send(
        "attachment_decided",
        approval_request.requester.notification_email,
        {
            "approval_request": approval_request,
            "requester": approval_request.requester,
            "approved": approval_request.is_approved,
            "link": mail.absolute_url(reverse("approvals:my_memberships")),
        },
    )


def structure_registered(user, structure) -> None:
    """Tells a signed-in user who created a structure that they are its main manager, and their next steps."""
    mail.send(
        "structure_registered",
        user.notification_email,
        {"user": user, "structure": structure, "link": mail.absolute_url(structure.get_absolute_url())},
    )
