"""What the menu and « Approbations » say of a manager's attachment requests, read once per request."""

from dataclasses import dataclass

from django.db.models import Count, FilteredRelation, Q

from approvals.models import ApprovalRequest
from structures.models import Membership


@dataclass(frozen=True)
class ManagerSummary:
    """Whether the user manages a structure, and how many attachment requests wait on those they manage."""

    manages: bool
    waiting: int


def manager_summary(request) -> ManagerSummary:
    """Read once per request, in one query: the menu shows « Approbations » and its badge from it, and
    « Approbations » pages its pending requests by it.

    The home page, which counts the requests of each structure anyway, may leave its sum here first.
    """
    if not hasattr(request, "_manager_summary"):
        counts = (
            Membership.objects.managers()
            .filter(user=request.user)
            # The state in the join itself: only pending requests are read, through their partial index.
            .alias(
                pending=FilteredRelation(
                    "structure__approval_requests",
                    condition=Q(structure__approval_requests__state=ApprovalRequest.State.REQUESTED),
                )
            )
            .aggregate(managed=Count("pk", distinct=True), waiting=Count("pending"))
        )
        request._manager_summary = ManagerSummary(counts["managed"] > 0, counts["waiting"])
    return request._manager_summary
