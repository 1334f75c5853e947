from django.utils.functional import SimpleLazyObject

from approvals.summary import manager_summary


def pending_approvals(request) -> dict:
    """The menu's « Approbations » entry, for those who manage a structure, and its badge of waiting requests.

    Both lazy and sharing one query, run only by pages that show the menu.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "manages_structures": SimpleLazyObject(lambda: manager_summary(request).manages),
        "pending_approvals": SimpleLazyObject(lambda: manager_summary(request).waiting),
    }
