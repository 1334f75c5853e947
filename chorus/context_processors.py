from django.utils.functional import SimpleLazyObject

from approvals.models import ApprovalRequest


def pending_approvals(request) -> dict:
    """The menu's « Approbations » badge: requests waiting on the structures the user manages.

    One COUNT query, run only by pages that show the menu.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"pending_approvals": SimpleLazyObject(lambda: ApprovalRequest.objects.pending().decidable_by(user).count())}
