from urllib.parse import urlencode

from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from audit.models import AuditEvent
from chorus.admin import ReadOnlyAdminMixin


def short_date(moment) -> str:
    """dd/mm/yyyy, in the site's time zone: the admin's lists write « 7 décembre 2026 14:05 » on one line."""
    return date_format(timezone.localtime(moment), "SHORT_DATE_FORMAT") if moment else "—"


def short_datetime(moment) -> str:
    """dd/mm/yyyy hh:mm, for lists where the hour matters (the audit trail)."""
    return date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else "—"


def audit_trail_link(obj, label: str, **query) -> str:
    """A link to the « Journal d'audit » filtered on `query`, for an object's admin page."""
    if not obj.pk:
        return "—"
    return format_html('<a href="{}?{}">{}</a>', reverse("admin:audit_auditevent_changelist"), urlencode(query), label)


class StructureFilter(admin.SimpleListFilter):
    """One structure's events, reached from its admin page (`?structure=<id>`).

    The sidebar names the structure chosen instead of listing them all; its label
    is read from the events themselves, which outlive the structure.
    """

    title = "structure"
    parameter_name = "structure"

    def _chosen(self) -> str | None:
        value = self.value()
        return value if value and value.isdigit() else None

    def lookups(self, request, model_admin):
        if (chosen := self._chosen()) is None:
            return []
        label = AuditEvent.objects.filter(structure_id=chosen).values_list("structure_label", flat=True).first()
        return [(chosen, label or f"n° {chosen}")]

    def queryset(self, request, queryset):
        if (chosen := self._chosen()) is None:
            return queryset
        return queryset.filter(structure_id=chosen)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Read-only: staff look, nobody writes, changes or deletes."""

    # The hour in figures, the address beside its author, the object under the action: the list fits
    # a 1280-pixel screen (static/css/admin.css lets these columns and the structure wrap).
    list_display = ["when", "event", "author", "structure_link"]
    list_filter = [StructureFilter, "action", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "=ip", "structure_label", "target"]
    date_hierarchy = "at"
    fields = ["at", "action", "actor_label", "ip", "structure_link", "target", "details"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="date", ordering="at")
    def when(self, event):
        return short_datetime(event.at)

    @admin.display(description="action (objet)", ordering="action")
    def event(self, event):
        if not event.target:
            return event.get_action_display()
        return format_html("{}<br>({})", event.get_action_display(), event.target)

    @admin.display(description="auteur (adresse IP)", ordering="actor_label")
    def author(self, event):
        """Who, and from where: the IP is searched for exactly (« =ip »), so it stays in full."""
        author = event.actor_label or "anonyme"
        return f"{author} ({event.ip})" if event.ip else author

    @admin.display(description="structure", ordering="structure_label")
    def structure_link(self, event):
        if event.structure_id is None:
            return event.structure_label
        url = reverse("admin:structures_structure_change", args=[event.structure_id])
        return format_html('<a href="{}">{}</a>', url, event.structure_label)
