"""The mails of the approval steps, one function each (templates in templates/emails/)."""

from django.conf import settings
from django.urls import reverse

from chorus import mail
from structures.models import Membership


def attachment_requested(approval_request) -> None:
    """Tells the structure's main manager that someone asks to be attached."""
    manager = (
        Membership.objects.filter(structure=approval_request.structure, role=Membership.Role.MAIN_MANAGER)
        .select_related("user")
        .first()
    )
    if manager is None or not manager.user.is_active:
        return  # staff find structures without a reachable manager in the admin
    mail.send(
        "attachment_requested",
        manager.user.notification_email,
        {
            "manager": manager.user,
            "approval_request": approval_request,
            "login_link": f"{settings.SITE_URL}{reverse('accounts:login')}",
        },
    )
