from django.contrib import admin, messages
from django.template.response import TemplateResponse

from approvals import workflows
from approvals.forms import RefusalForm
from approvals.models import ApprovalRequest


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    """Support reads requests and decides them with the site's own workflow, as the approver."""

    list_display = ["created_at", "kind", "state", "requester", "structure", "from_centre", "approver"]
    list_filter = ["state", "kind"]
    search_fields = ["requester__email", "structure__siret", "structure__name"]
    list_select_related = ["requester", "structure", "decided_by"]
    fields = ["kind", "state", "requester", "structure", "comment", "created_at", "decided_by", "decided_at", "reason"]
    readonly_fields = fields
    date_hierarchy = "created_at"
    actions = ["approve", "refuse"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_delegation()

    @admin.display(description="centre de gestion", boolean=True)
    def from_centre(self, approval_request):
        return approval_request.from_centre

    @admin.display(description="approbateur")
    def approver(self, approval_request):
        if approval_request.state == ApprovalRequest.State.WITHDRAWN:
            return "retirée par le demandeur"
        return approval_request.decided_by or "—"

    def has_add_permission(self, request):
        return False  # requests come from sign-up and « Demander un rattachement »

    def has_delete_permission(self, request, obj=None):
        return False  # decisions are the structure's audit trail

    def _report(self, request, decided, already_decided, verb):
        if decided:
            self.message_user(request, f"{len(decided)} demande(s) {verb}(s) ; les demandeurs en sont informés.")
        if already_decided:
            self.message_user(request, f"{already_decided} demande(s) déjà traitée(s) ignorée(s).", messages.WARNING)

    @admin.action(description="Approuver les demandes sélectionnées", permissions=["change"])
    def approve(self, request, queryset):
        decided, already_decided = workflows.decide_many(queryset, by=request.user, approve=True)
        self._report(request, decided, already_decided, "approuvée")

    @admin.action(description="Refuser les demandes sélectionnées (motif demandé)", permissions=["change"])
    def refuse(self, request, queryset):
        form = RefusalForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            decided, already_decided = workflows.decide_many(
                queryset, by=request.user, approve=False, reason=form.cleaned_data["reason"]
            )
            self._report(request, decided, already_decided, "refusée")
            return None
        return TemplateResponse(
            request,
            "admin/approvals/refuse.html",
            {
                **self.admin_site.each_context(request),
                "title": "Refuser les demandes sélectionnées",
                "opts": self.model._meta,
                "form": form,
                "queryset": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )
