from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from approvals import workflows
from approvals.forms import RefusalForm
from approvals.models import ApprovalRequest
from chorus.sites import DashboardItem, DashboardPanel
from structures.admin import SiretSearchMixin

# A request waiting longer than this reaches nobody who acts on it: support calls the structure.
STALE_AFTER_DAYS = 7
STALE_SHOWN = 5  # on the admin index, the oldest ones


class WaitingFilter(admin.SimpleListFilter):
    """Pending requests that their structure's managers have left waiting (the admin index links here)."""

    title = "attente"
    parameter_name = "attente"
    STALE = f"plus_de_{STALE_AFTER_DAYS}_jours"

    def lookups(self, request, model_admin):
        return [(self.STALE, f"En attente depuis plus de {STALE_AFTER_DAYS} jours")]

    def queryset(self, request, queryset):
        if self.value() == self.STALE:
            return queryset.waiting_longer_than(STALE_AFTER_DAYS)
        return queryset


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(SiretSearchMixin, admin.ModelAdmin):
    """Support reads requests and decides them with the site's own workflow, as the approver."""

    # Few, narrow columns: the list fits a 1280-pixel screen beside the admin's navigation and
    # filters (static/css/admin.css lets the requester's address and the structure's name wrap).
    list_display = ["submitted", "kind", "requester", "structure", "from_centre", "decision"]
    list_filter = [WaitingFilter, "state", "kind"]
    search_fields = [
        "requester__email",
        "requester__contact_email",
        "requester__last_name",
        "structure__siret",
        "structure__name",
    ]
    list_select_related = ["requester", "structure", "decided_by"]
    fields = [
        "kind",
        "state",
        "waiting",
        "requester",
        "structure",
        "comment",
        "created_at",
        "decided_by",
        "decided_at",
        "reason",
    ]
    readonly_fields = fields
    date_hierarchy = "created_at"
    actions = ["approve", "refuse"]

    def get_queryset(self, request):
        return super().get_queryset(request).with_delegation()

    def get_list_display(self, request):
        """The kind says something only once there are several: with one, it would fill a column with the same words."""
        if len(ApprovalRequest.Kind.choices) > 1:
            return self.list_display
        return [name for name in self.list_display if name != "kind"]

    def dashboard_panel(self, request) -> DashboardPanel:
        """The admin index: how many requests wait for too long, and the oldest ones."""
        requests = ApprovalRequest.objects.waiting_longer_than(STALE_AFTER_DAYS)
        oldest = requests.select_related("requester", "structure").order_by("created_at", "pk")[:STALE_SHOWN]
        changelist = reverse("admin:approvals_approvalrequest_changelist")
        return DashboardPanel(
            title=f"Demandes de rattachement en attente depuis plus de {STALE_AFTER_DAYS} jours",
            count=requests.count(),
            url=f"{changelist}?{urlencode({WaitingFilter.parameter_name: WaitingFilter.STALE})}",
            items=[
                DashboardItem(
                    label=f"{approval_request.requester} → {approval_request.structure.name_and_siret}",
                    url=reverse("admin:approvals_approvalrequest_change", args=[approval_request.pk]),
                    detail=approval_request.waiting_for,
                )
                for approval_request in oldest
            ],
        )

    @admin.display(description="en attente", ordering="created_at")
    def waiting(self, approval_request):
        return approval_request.waiting_for if approval_request.is_pending else "—"

    @admin.display(description="déposée", ordering="created_at")
    def submitted(self, approval_request):
        """The day; and while it waits, for how long (the detail page has the time)."""
        day = date_format(timezone.localtime(approval_request.created_at), "SHORT_DATE_FORMAT")
        return f"{day} ({approval_request.waiting_for})" if approval_request.is_pending else day

    @admin.display(description="centre de gestion")
    def from_centre(self, approval_request):
        # In words: the admin's boolean icon reads « False » to a screen reader.
        return "oui" if approval_request.from_centre else "non"

    @admin.display(description="état", ordering="state")
    def decision(self, approval_request):
        """The state, and who decided, by name (it wraps; the address is on the request's page)."""
        state = approval_request.get_state_display()
        if approval_request.is_withdrawn:
            return f"{state} par le demandeur"
        if decider := approval_request.decided_by:
            return f"{state} par {decider.get_full_name() or decider}"
        return state

    def has_add_permission(self, request):
        return False  # requests come from sign-up and « Demander un rattachement »

    def has_delete_permission(self, request, obj=None):
        return False  # decisions are the structure's audit trail

    def _report(self, request, decided, already_decided, verb):
        if decided:
            self.message_user(request, f"{len(decided)} demande(s) {verb}(s) ; les demandeurs en sont informés.")
        if already_decided:
            self.message_user(request, f"{already_decided} demande(s) déjà traitée(s) ignorée(s).", messages.WARNING)

    @admin.action(
        description="Approuver cette demande",
        description_plural="Approuver les demandes sélectionnées",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def approve(self, request, queryset):
        decided, already_decided = workflows.decide_many(queryset, by=request.user, approve=True)
        self._report(request, decided, already_decided, "approuvée")

    @admin.action(
        description="Refuser cette demande (motif demandé)",
        description_plural="Refuser les demandes sélectionnées (motif demandé)",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def refuse(self, request, queryset):
        form = RefusalForm(request.POST if "reason" in request.POST else None)
        if form.is_valid():
            decided, already_decided = form.save(queryset, by=request.user)
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
