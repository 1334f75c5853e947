"""The mails of the approval steps, one function each (templates in templates/emails/)."""

from django.conf import settings
from django.urls import reverse

from approvals.models import ApprovalRequest
from chorus import mail
from structures.models import Membership


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def attachment_requested(approval_request: ApprovalRequest) -> None:
    """Tells the structure's main manager that someone asks to be attached."""
    manager = (
        Membership.objects.filter(structure=approval_request.structure, role=Membership.Role.MAIN_MANAGER)
        .select_related("user")
        .first()
    )
    if manager is None or not manager.user.is_active:
        return  # staff find structures without a reachable manager in the admin
    requester = approval_request.requester
    mail.send(
        "attachment_requested",
        manager.user.notification_email,
        {
            "manager": manager.user,
            "approval_request": approval_request,
            "from_centre": Membership.objects.filter(user=requester, structure__is_agricultural_centre=True).exists(),
            "link": _absolute(reverse("approvals:detail", args=[approval_request.pk])),
        },
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
