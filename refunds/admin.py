"""Refunds in the admin: staff keep the reference data; requests are read there, never changed.

Products, rates and campaigns (with the products that close earlier) are edited by superusers and by staff
given the model permissions, as each year's figures are published. A refund request, its lines and its events
are read-only for every staff member, superusers included: the farm files and sends through its own pages, and
the instruction's decisions go through the portal's instruction pages, which lock, record and mail.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html

from audit.admin import short_date, short_datetime
from chorus.admin import ReadOnlyAdminMixin
from chorus.templatetags.ui import euros
from refunds.models import Campaign, Product, ProductClosing, Rate, RefundEvent, RefundLine, RefundRequest
from structures import departements
from structures.admin import SiretSearchMixin, yes_no


def _day(day) -> str:
    return date_format(day, "SHORT_DATE_FORMAT") if day else "—"


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "units", "de_minimis", "position"]
    search_fields = ["name", "code"]

    @admin.display(description="unités (facture / taux)")
    def units(self, product):
        return f"{product.invoice_unit} / {product.rate_unit}"

    @admin.display(description="de minimis", ordering="is_de_minimis")
    def de_minimis(self, product):
        return yes_no(product.is_de_minimis)


@admin.register(Rate)
class RateAdmin(admin.ModelAdmin):
    list_display = ["year", "product", "rate"]
    list_filter = ["year", "product"]
    search_fields = ["product__name"]
    list_select_related = ["product"]

    @admin.display(description="taux", ordering="amount")
    def rate(self, rate):
        return rate.display


class ProductClosingInline(admin.TabularInline):
    model = ProductClosing
    extra = 0
    fields = ["product", "closes_on"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["year", "opens", "closes", "ceiling"]
    inlines = [ProductClosingInline]

    @admin.display(description="ouverture", ordering="opens_on")
    def opens(self, campaign):
        return _day(campaign.opens_on)

    @admin.display(description="clôture", ordering="closes_on")
    def closes(self, campaign):
        return _day(campaign.closes_on)

    @admin.display(description="plafond de minimis", ordering="de_minimis_ceiling")
    def ceiling(self, campaign):
        return euros(campaign.de_minimis_ceiling)


class RefundLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RefundLine
    extra = 0
    fields = [
        "invoice_number",
        "date",
        "supplier",
        "product",
        "quantity",
        "rate_shown",
        "asked",
        "granted",
        "reduction_reason",
        "invoice_file",
    ]
    readonly_fields = fields

    @admin.display(description="date")
    def date(self, line):
        return _day(line.invoice_date)

    @admin.display(description="taux")
    def rate_shown(self, line):
        return line.rate_display

    @admin.display(description="montant")
    def asked(self, line):
        return euros(line.amount)

    @admin.display(description="accordé")
    def granted(self, line):
        return euros(line.granted_amount) or "—"

    @admin.display(description="facture")
    def invoice_file(self, line):
        """The invoice through the portal's download (staff who may view requests may download it)."""
        if not line.pk or not line.invoice:
            return "—"
        return format_html(
            '<a href="{}">Télécharger ({})</a>',
            reverse("refunds:invoice_download", args=[line.request_id, line.pk]),
            line.get_invoice_content_type_display(),
        )


class RefundEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RefundEvent
    extra = 0
    fields = ["when", "kind", "actor_label", "message"]
    readonly_fields = fields

    @admin.display(description="le")
    def when(self, event):
        return short_datetime(event.at)


class DepartementFilter(admin.SimpleListFilter):
    """The départements requests were filed in, named (« 26 – Drôme »); a draft has none yet."""

    title = "département"
    parameter_name = "departement"

    def lookups(self, request, model_admin):
        requests = model_admin.get_queryset(request).exclude(departement="")
        codes = requests.order_by("departement").values_list("departement", flat=True).distinct()
        return [(code, departements.label(code)) for code in codes]

    def queryset(self, request, queryset):
        return queryset.filter(departement=self.value()) if self.value() else queryset


@admin.register(RefundRequest)
class RefundRequestAdmin(ReadOnlyAdminMixin, SiretSearchMixin, admin.ModelAdmin):
    """Support finds a request by its number, the farm's SIRET or PACAGE, and reads it: it changes nothing."""

    # Short titles, the amount and the day in few characters, the structure wrapping (static/css/admin.css):
    # the list fits a 1280-pixel screen beside the filters.
    list_display = ["number_shown", "structure", "year_shown", "status", "asked", "filed"]
    list_filter = ["status", "year", DepartementFilter]
    # The PACAGE as filed, and the farm's own (a draft carries none yet).
    search_fields = ["number", "structure__siret", "pacage", "structure__pacage"]
    list_select_related = ["structure"]
    fields = [
        "number",
        "status",
        "structure",
        "year",
        "pacage",
        "beneficiary_category",
        "bank_label",
        "masked_iban",
        "bank_bic",
        "statement",
        "de_minimis_total",
        "total_asked",
        "total_granted",
        "created_by",
        "created_at",
        "filed_by",
        "filer_centre",
        "filed_at",
        "departement",
        "assigned_to",
        "payment_batch",
    ]
    readonly_fields = fields
    inlines = [RefundLineInline, RefundEventInline]

    @admin.display(description="numéro", ordering="number")
    def number_shown(self, request):
        return request.display_number

    @admin.display(description="année", ordering="year")
    def year_shown(self, request):
        return request.year

    @admin.display(description="demandé", ordering="total_asked")
    def asked(self, request):
        return euros(request.total_asked)

    @admin.display(description="déposée le", ordering="filed_at")
    def filed(self, request):
        return short_date(request.filed_at)

    @admin.display(description="IBAN")
    def masked_iban(self, request):
        return request.masked_iban or "—"

    @admin.display(description="entreprise pas en difficulté (déclaration)")
    def statement(self, request):
        return yes_no(request.not_in_difficulty)
