from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from approvals.models import ApprovalRequest
from structures.models import Membership


@login_required
def structure_list(request):
    """« Structures »: the structures the user is attached to, and requests awaiting a decision."""
    memberships = Membership.objects.filter(user=request.user).select_related("structure").order_by("structure__siret")
    pending = ApprovalRequest.objects.pending().filter(requester=request.user).select_related("structure")
    return render(
        request,
        "structures/structure_list.html",
        {"nav": "organisation", "memberships": memberships, "pending_requests": pending},
    )
