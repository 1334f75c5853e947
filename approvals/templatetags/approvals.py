"""What the approvals app adds to the pages of the layers below it, which do not know of requests."""

from django import template

from approvals.models import ApprovalRequest

register = template.Library()


@register.inclusion_tag("approvals/_pending_requests.html")
def pending_requests_of(user) -> dict:
    """The user's own attachment requests still waiting for a decision, at the end of « Structures »."""
    return {"pending_requests": ApprovalRequest.objects.pending_filed_by(user).select_related("structure")}
