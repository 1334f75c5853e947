import re
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin import ActionLocation
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import audit_trail_link, short_date
from chorus.admin import ReadOnlyAdminMixin
from chorus.sites import DashboardPanel
from structures import workflows
from structures.forms import STRUCTURE_BLOCKS
from structures.models import BankAccount, Membership, Structure


class HistoryAdmin(SimpleHistoryAdmin):
    """The history (each field before and after a save), to read only: reverting from it would
    change bank details or roles behind the workflows' back (no re-authentication, no mail to
    the managers, no audit row). Who did what is the audit trail's, linked from each structure."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class SiretSearchMixin:
    """A SIRET read out on the phone, « 732 829 320 00074 », is searched for as one number."""

    def get_search_results(self, request, queryset, search_term):
        if re.fullmatch(r"[\d\s.]+", search_term):
            search_term = re.sub(r"[\s.]", "", search_term)
        return super().get_search_results(request, queryset, search_term)


class RoleReadOnly:
    """Who belongs to a structure, and in which role, is read-only here for every staff member, superusers
    included: an outsider made manager would change the bank details. Memberships begin with an approved
    request and end with « Détacher » on the site, and the main manager changes through « Nommer gestionnaire
    principal »: workflows that mail the people concerned. The admin adds, changes and deletes none."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # At the model's level (obj None) the permission still runs the actions, which call the workflows.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class MembershipInline(RoleReadOnly, admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False


class NoActiveMainManagerFilter(admin.SimpleListFilter):
    """Structures whose requests reach nobody who vouches for them: support appoints a main manager."""

    title = "gestionnaire principal"
    parameter_name = "gestionnaire_principal"

    ABSENT = "absent"

    def lookups(self, request, model_admin):
        return [(self.ABSENT, "Aucun gestionnaire principal actif")]

    def queryset(self, request, queryset):
        if self.value() == self.ABSENT:
            return without_active_main_manager(queryset)
        return queryset


def without_active_main_manager(structures):
    active = Membership.objects.filter(
        structure=OuterRef("pk"), role=Membership.Role.MAIN_MANAGER, user__is_active=True
    )
    return structures.exclude(Exists(active))


def rib_link(bank_account: BankAccount) -> str:
    if not bank_account.pk or not bank_account.rib:
        return "—"
    return format_html(
        '<a href="{}">Télécharger ({})</a>',
        reverse("structures:rib_download", args=[bank_account.pk]),
        bank_account.get_rib_content_type_display(),
    )


def yes_no(value: bool) -> str:
    # In words: the admin's boolean icon reads « True » or « False » to a screen reader.
    return "oui" if value else "non"


class BankAccountDisplay:
    @admin.display(description="IBAN")
    def masked_iban(self, bank_account):
        return bank_account.masked_iban

    @admin.display(description="RIB")
    def rib_file(self, bank_account):
        return rib_link(bank_account)


class BankAccountInline(ReadOnlyAdminMixin, BankAccountDisplay, admin.TabularInline):
    """Read-only for every staff member: bank details change on the site, where managers re-authenticate and
    are all mailed."""

    model = BankAccount
    extra = 0
    fields = ["label", "masked_iban", "bic", "is_default", "rib_file", "created_by", "created_at"]
    readonly_fields = fields
    show_change_link = True


@admin.register(Structure)
class StructureAdmin(SiretSearchMixin, HistoryAdmin):
    # Few, narrow columns on a 1280-pixel screen: the category says when the structure is a management centre,
    # dates are written dd/mm/yyyy, and static/css/admin.css lets the name and the category wrap.
    list_display = ["siret", "name", "category", "pacage", "status", "created"]
    list_filter = [
        NoActiveMainManagerFilter,
        "sirene_state",
        "beneficiary_category",
        "is_agricultural_centre",
        "status",
        "structure_type",
    ]
    search_fields = ["siret", "name", "pacage"]
    readonly_fields = [
        "siret",
        "siren",
        "identifier_type",
        "sirene",
        "address_not_public",
        "created_at",
        "updated_at",
        "audit_trail",
    ]
    inlines = [MembershipInline, BankAccountInline]
    fieldsets = [
        *[(legend, {"fields": names}) for legend, names in STRUCTURE_BLOCKS.items()],
        (
            "Suivi",
            {"fields": ["identifier_type", "sirene", "address_not_public", "created_at", "updated_at", "audit_trail"]},
        ),
    ]

    def dashboard_panel(self, request) -> DashboardPanel:
        """The admin index: structures whose requests reach nobody, for support to appoint a main manager."""
        changelist = reverse("admin:structures_structure_changelist")
        query = urlencode({NoActiveMainManagerFilter.parameter_name: NoActiveMainManagerFilter.ABSENT})
        return DashboardPanel(
            title="Structures sans gestionnaire principal actif",
            count=without_active_main_manager(Structure.objects.all()).count(),
            url=f"{changelist}?{query}",
        )

    @admin.display(description="catégorie", ordering="beneficiary_category")
    def category(self, structure):
        """The beneficiary category; a management centre has none (it files for its clients), and says so."""
        if structure.is_agricultural_centre:
            return "centre de gestion"
        return structure.get_beneficiary_category_display() or self.get_empty_value_display()

    @admin.display(description="créée le", ordering="created_at")
    def created(self, structure):
        return short_date(structure.created_at)

    @admin.display(description="journal d'audit")
    def audit_trail(self, structure):
        """Who did what on the structure, its roles, requests and bank details (the simple history shows values)."""
        return audit_trail_link(structure, "Voir les événements de cette structure", structure=structure.pk)

    @admin.display(description="répertoire SIRENE")
    def sirene(self, structure):
        """Absent or closed as of which stock; listed; or never checked, while no directory was loaded."""
        if structure.sirene_mark:
            return structure.sirene_mark
        if structure.sirene_state:
            return f"Présent dans le répertoire SIRENE au {structure.sirene_stock_date:%d/%m/%Y}"
        return "Non vérifié : aucun répertoire SIRENE n'était chargé"

    @admin.display(description="adresse non diffusible")
    def address_not_public(self, structure):
        """In words (the admin's boolean icon reads « True » to a screen reader)."""
        if not structure.address_restricted:
            return "non"
        return "oui : le répertoire SIRENE ne la diffuse pas, les utilisateurs simples de la structure ne la voient pas"

    @admin.display(description="SIREN")
    def siren(self, structure):
        return structure.siren

    def get_readonly_fields(self, request, obj=None):
        # The SIRET identifies the structure: typed once, at sign-up (or by staff when adding one).
        return (
            self.readonly_fields
            if obj
            else ["siren", "sirene", "address_not_public", "created_at", "updated_at", "audit_trail"]
        )

    # Saved and deleted through the workflows, which write the audit trail; its inlines are read-only.

    def save_model(self, request, obj, form, change):
        if change:
            workflows.update_structure(obj, by=request.user)
        else:
            workflows.create_structure(obj, by=request.user)

    def delete_model(self, request, obj):
        workflows.delete_structures(Structure.objects.filter(pk=obj.pk), by=request.user)

    def delete_queryset(self, request, queryset):
        workflows.delete_structures(queryset, by=request.user)


@admin.register(Membership)
class MembershipAdmin(RoleReadOnly, SiretSearchMixin, HistoryAdmin):
    # The structure's name wraps (static/css/admin.css), the date is dd/mm/yyyy: the list fits 1280 pixels.
    list_display = ["member", "structure", "role", "since"]
    list_filter = ["role", "user__is_active"]
    search_fields = ["user__email", "user__last_name", "structure__siret", "structure__name"]
    list_select_related = ["user", "structure"]
    fields = ["user", "structure", "role", "created_at"]
    readonly_fields = fields
    actions = ["appoint_main_manager"]

    @admin.display(description="utilisateur", ordering="user__email")
    def member(self, membership):
        return membership.user.email

    @admin.display(description="depuis le", ordering="created_at")
    def since(self, membership):
        return short_date(membership.created_at)

    @admin.action(
        description="Nommer gestionnaire principal de sa structure",
        permissions=["change"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def appoint_main_manager(self, request, queryset):
        """When a structure has no reachable main manager, support appoints one (the previous one stays manager)."""
        if len(queryset) != 1:
            self.message_user(request, "Sélectionnez un seul rattachement.", messages.ERROR)
            return
        membership = queryset[0]
        try:
            workflows.hand_over_main_manager(membership.structure, to=membership, by=request.user)
        except workflows.MembershipChanged:
            self.message_user(
                request,
                "Impossible : cette personne est déjà gestionnaire principal, ou son compte n'est pas activé.",
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                f"{membership.user} est gestionnaire principal de {membership.structure}. Les intéressés en sont "
                "informés par courriel.",
            )


@admin.register(BankAccount)
class BankAccountAdmin(ReadOnlyAdminMixin, BankAccountDisplay, HistoryAdmin):
    """Support reads bank details and their history; it does not change them."""

    # IBAN and BIC in one column, short titles, dates dd/mm/yyyy: the list fits a 1280-pixel screen.
    list_display = ["label", "structure", "iban_and_bic", "default", "created"]
    list_filter = ["is_default", "rib_content_type"]
    search_fields = ["structure__siret", "structure__name", "label", "bic"]
    list_select_related = ["structure"]
    fields = [
        "structure",
        "label",
        "iban",
        "bic",
        "is_default",
        "rib_file",
        "rib_filename",
        "rib_content_type",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="IBAN / BIC")
    def iban_and_bic(self, bank_account):
        return format_html("{}<br>{}", bank_account.masked_iban, bank_account.bic)

    @admin.display(description="par défaut", ordering="is_default")
    def default(self, bank_account):
        return yes_no(bank_account.is_default)

    @admin.display(description="créée le", ordering="created_at")
    def created(self, bank_account):
        return short_date(bank_account.created_at)
