from django.contrib import admin

from chorus.admin import ReadOnlyAdminMixin
from sirene.models import Stock


@admin.register(Stock)
class StockAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each import of the directory, with its report: read-only, as `manage.py import_sirene` alone writes them.

    The establishments and legal units themselves are not listed here: millions of rows, read by SIRET
    where a structure is created or compared."""

    list_display = ["stock_date", "state", "establishments", "legal_units", "malformed", "started_at", "finished_at"]
    list_filter = ["state"]
    fields = [
        "stock_date",
        "state",
        "establishments_file",
        "legal_units_file",
        "establishments",
        "legal_units",
        "malformed",
        "report",
        "started_at",
        "finished_at",
    ]
    readonly_fields = fields
