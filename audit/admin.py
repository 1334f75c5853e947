from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from audit.models import AuditEvent
from chorus.admin import ReadOnlyAdminMixin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: staff look, nobody writes, changes or deletes."""

    list_display = ["at", "action", "actor_label", "ip", "structure_link", "target"]
    list_filter = ["action", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "=ip", "structure_label", "target"]
    date_hierarchy = "at"
    fields = ["at", "action", "actor_label", "ip", "structure_link", "target", "details"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="structure", ordering="structure_label")
    def structure_link(self, event):
        if event.structure_id is None:
            return event.structure_label
        url = reverse("admin:structures_structure_change", args=[event.structure_id])
        return format_html('<a href="{}">{}</a>', url, event.structure_label)
