from django.utils.functional import SimpleLazyObject

from approvals.models import ApprovalRequest


def pending_count(request) -> int:
    """Requests waiting on the structures the signed-in user manages, counted once per request.

    The menu's badge and the home page's checklist both show it.
    """
    if not hasattr(request, "_pending_approvals"):
        request._pending_approvals = ApprovalRequest.objects.pending().decidable_by(request.user).count()
    return request._pending_approvals


def pending_approvals(request) -> dict:
    """The menu's « Approbations » badge: requests waiting on the structures the user manages.

    One COUNT query per request (the home page's checklist shares it), run only by pages that show the menu.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"pending_approvals": SimpleLazyObject(lambda: pending_count(request))}
