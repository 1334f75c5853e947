from django.contrib import admin

from approvals.models import ApprovalRequest


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "state", "requester", "structure"]
    list_filter = ["state", "kind"]
    search_fields = ["requester__email", "structure__siret", "structure__name"]
    list_select_related = ["requester", "structure"]
    readonly_fields = ["created_at", "decided_by", "decided_at"]
    autocomplete_fields = ["requester", "structure"]
    date_hierarchy = "created_at"
