"""The mails of the approval steps, one function each (templates in templates/emails/)."""

from django.conf import settings
from django.urls import reverse

from approvals.models import ApprovalRequest
from chorus import mail
from structures.models import Membership


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def attachment_requested(approval_request: ApprovalRequest) -> None:
    """Tells the structure's managers (the main manager first) that someone asks to be attached."""
    requester = approval_request.requester
    context = {
        "approval_request": approval_request,
        "from_centre": Membership.objects.filter(user=requester, structure__is_agricultural_centre=True).exists(),
        "link": _absolute(reverse("approvals:detail", args=[approval_request.pk])),
    }
    # Staff find structures without an active main manager in the admin.
    for membership in approval_request.structure.manager_memberships().filter(user__is_active=True):
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
            "approved": approval_request.state == ApprovalRequest.State.APPROVED,
            "link": _absolute(reverse("approvals:mine")),
        },
    )
