"""Structures, their members and their bank details.

Each model keeps its history (django-simple-history): what a field was before
each save, for the « Dernières modifications » list and the admin's history
pages. That is not the audit trail, which says who did what: the workflows
(`structures.workflows`) write it, one row a step.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.storage import storages
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.text import capfirst
from django_countries.fields import CountryField
from simple_history.models import HistoricalRecords

from chorus import uploads
from chorus.templatetags.ui import iban_groups


class StructureQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The structures the user is attached to, in any role."""
        return self.filter(memberships__user=user)

    def managed_by(self, user):
        """The structures the user manages: as their main manager or one of their managers."""
        return self.filter(memberships__user=user, memberships__role__in=Membership.MANAGER_ROLES)


# What the SIRENE directory's imports set on a structure (`structures.receivers`), and nobody else.
DIRECTORY_FIELDS = ["sirene_state", "sirene_stock_date", "address_restricted"]


class SireneState(models.TextChoices):
    LISTED = "listed", "Présent"
    CLOSED = "closed", "Fermé"
    UNLISTED = "unlisted", "Absent"


class Structure(models.Model):
    """A company or farm on the portal, identified by its SIRET."""

    class IdentifierType(models.TextChoices):
        SIRET = "siret", "SIRET"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    class StructureType(models.TextChoices):
        COMPANY = "company", "Entreprise"
        ASSOCIATION = "association", "Association"
        PUBLIC_ENTITY = "public_entity", "Entité publique"

    class TaxRegime(models.TextChoices):
        VAT_ON_DEBITS = "vat_debits", "TVA sur les débits"
        VAT_ON_RECEIPTS = "vat_receipts", "TVA sur les encaissements"
        VAT_EXEMPT = "vat_exempt", "Exonéré de TVA"
        NOT_LIABLE = "not_liable", "Non assujetti à la TVA"

    class ProcedureCategory(models.TextChoices):
        EXPERT = "expert", "Expert judiciaire"
        INTERPRETER = "interpreter", "Interprète-traducteur"
        INVESTIGATOR = "investigator", "Enquêteur social"
        DOCTOR = "doctor", "Médecin"
        OTHER = "other", "Autre prestataire de justice"

    class BeneficiaryCategory(models.TextChoices):
        INDIVIDUAL_FARMER = "individual_farmer", "Exploitant agricole à titre individuel"
        FARMING_COMPANY = "farming_company", "Société agricole (GAEC, EARL, SCEA…)"
        CUMA = "cuma", "Coopérative d'utilisation de matériel agricole (CUMA)"
        ETARF = "etarf", "Entreprise de travaux agricoles ou forestiers (ETARF)"
        FARMERS_GIE = "farmers_gie", "Groupement d'intérêt économique (GIE) d'exploitants agricoles"
        OTHER_LEGAL_ENTITY = "other_legal_entity", "Autre personne morale ayant une activité agricole"
        AQUACULTURE = "aquaculture", "Aquaculture (pisciculture, conchyliculture)"

    identifier_type = models.CharField(
        "type d'identifiant", max_length=10, choices=IdentifierType, default=IdentifierType.SIRET
    )
    siret = models.CharField("SIRET", max_length=14, unique=True)
    name = models.CharField("libellé de la structure", max_length=200, blank=True)
    rcs_number = models.CharField("numéro RCS", max_length=60, blank=True)
    vat_number = models.CharField("numéro TVA intracommunautaire", max_length=13, blank=True)
    structure_type = models.CharField(
        "type de structure", max_length=20, choices=StructureType, default=StructureType.COMPANY
    )
    email = models.EmailField("adresse électronique", blank=True)
    status = models.CharField("statut", max_length=10, choices=Status, default=Status.ACTIVE)
    tax_regime = models.CharField("régime fiscal principal", max_length=20, choices=TaxRegime, blank=True)

    address = models.CharField("adresse", max_length=200, blank=True)
    address_complement_1 = models.CharField("complément d'adresse 1", max_length=200, blank=True)
    address_complement_2 = models.CharField("complément d'adresse 2", max_length=200, blank=True)
    postal_code = models.CharField("code postal", max_length=10, blank=True)
    city = models.CharField("ville", max_length=100, blank=True)
    country = CountryField("pays", default="FR")
    phone = models.CharField("téléphone", max_length=20, blank=True)

    procedure_category = models.CharField("catégorie Procédure", max_length=20, choices=ProcedureCategory, blank=True)

    beneficiary_category = models.CharField(
        "catégorie de bénéficiaire", max_length=30, choices=BeneficiaryCategory, blank=True
    )
    pacage = models.CharField("numéro PACAGE", max_length=9, blank=True, db_index=True)
    is_agricultural_centre = models.BooleanField("l'organisation est un centre de gestion agricole", default=False)

    # What the SIRENE directory said of the SIRET, at the structure's creation and at each import since
    # (`structures.directory`); blank while no directory was ever loaded.
    sirene_state = models.CharField("répertoire SIRENE", max_length=10, choices=SireneState, blank=True)
    sirene_stock_date = models.DateField("stock SIRENE du", null=True, blank=True)
    # Partly public in the directory: the address is for the structure's managers and staff only.
    address_restricted = models.BooleanField("adresse non diffusible", default=False)

    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    # History: each field before and after a save (not the audit trail, which says who did what).
    history = HistoricalRecords(excluded_fields=["updated_at", "sirene_state", "sirene_stock_date"])
    objects = StructureQuerySet.as_manager()

    class Meta:
        verbose_name = "structure"
        verbose_name_plural = "structures"
        ordering = ["siret"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pacage="") | Q(pacage__regex=r"^[0-9]{9}$"),
                name="structure_pacage_nine_digits",
            ),
            # A management centre files for its clients, never for itself.
            models.CheckConstraint(
                condition=Q(is_agricultural_centre=False) | Q(pacage="", beneficiary_category=""),
                name="structure_centre_has_no_pacage",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.siret} {self.name}".strip()

    def get_absolute_url(self) -> str:
        return reverse("structures:structure_detail", args=[self.pk])

    @property
    def siren(self) -> str:
        return self.siret[:9]

    @property
    def display_name(self) -> str:
        return self.name or f"SIRET {self.siret}"

    @property
    def name_and_siret(self) -> str:
        """« EARL Martin (SIRET 73282932000074) », or the SIRET alone while the structure has no name."""
        return f"{self.name} (SIRET {self.siret})" if self.name else f"SIRET {self.siret}"

    @property
    def sirene_mark(self) -> str:
        """What support and instructors read of the directory's word on the SIRET; blank when it is listed, open."""
        if self.sirene_state == SireneState.UNLISTED:
            return f"Absent du répertoire SIRENE au {self.sirene_stock_date:%d/%m/%Y}"
        if self.sirene_state == SireneState.CLOSED:
            return f"Établissement fermé selon le répertoire SIRENE (stock du {self.sirene_stock_date:%d/%m/%Y})"
        return ""

    def address_shown_to(self, user, *, is_manager: bool) -> bool:
        """A partly public structure's address is for its managers and staff alone."""
        return not self.address_restricted or is_manager or user.is_staff

    @property
    def refund_information_complete(self) -> bool:
        """What refund requests carry: the category and PACAGE, or the centre flag."""
        return self.is_agricultural_centre or bool(self.beneficiary_category and self.pacage)

    def is_managed_by(self, user) -> bool:
        return self.memberships.filter(user=user).managers().exists()

    def recent_changes(self, limit: int = 5) -> list["Change"]:
        """The last changes, newest first: who, when, and each field before and after.

        Read from the history, which keeps values; the audit trail keeps who did what, with field names only.
        """
        records = list(self.history.select_related("history_user")[: limit + 1])
        changes = []
        # Each record beside the one before it; a structure imported in bulk may have none.
        for record, previous in zip(records, [*records[1:], None], strict=False):
            if previous is None and record.history_type != "+":
                break  # older than what we show
            fields = []
            if previous is not None:
                for delta in record.diff_against(previous).changes:
                    fields.append(FieldChange.of(Structure._meta.get_field(delta.field), delta.old, delta.new))
            changes.append(Change(record.history_date, record.history_user, record.history_type, fields))
        return changes[:limit]

    def manager_memberships(self):
        return self.memberships.managers().select_related("user")

    def managers_to_notify(self):
        """The managers whose account is not deactivated: those the structure's notices are mailed to."""
        return self.manager_memberships().filter(user__is_active=True)


class MembershipQuerySet(models.QuerySet):
    def managers(self):
        """The memberships that manage their structure (`Membership.MANAGER_ROLES`)."""
        return self.filter(role__in=Membership.MANAGER_ROLES)

    def managed_by(self, user):
        """The memberships of the structures the user manages (the user's own among them)."""
        return self.filter(structure__in=Structure.objects.managed_by(user))

    def eligible_managers(self):
        """Those whose user may become a structure's main manager: an account activated and not deactivated."""
        return self.filter(user__is_active=True, user__activated_at__isnull=False)


class Membership(models.Model):
    """A user attached to a structure, as its main manager, a manager or a user."""

    class Role(models.TextChoices):
        MAIN_MANAGER = "main_manager", "Gestionnaire principal"
        MANAGER = "manager", "Gestionnaire"
        USER = "user", "Utilisateur"

    MANAGER_ROLES = [Role.MAIN_MANAGER, Role.MANAGER]
    # Lists show the main manager first, then managers, then users.
    ROLE_ORDER = models.Case(
        models.When(role=Role.MAIN_MANAGER, then=0), models.When(role=Role.MANAGER, then=1), default=2
    )

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("rôle", max_length=20, choices=Role, default=Role.USER)
    created_at = models.DateTimeField("depuis le", auto_now_add=True)

    objects = MembershipQuerySet.as_manager()
    # History: each role before and after (not the audit trail, which says who did what).
    history = HistoricalRecords()

    class Meta:
        verbose_name = "rattachement"
        verbose_name_plural = "rattachements"
        constraints = [
            models.UniqueConstraint(fields=["user", "structure"], name="membership_user_structure_unique"),
            models.UniqueConstraint(
                fields=["structure"],
                condition=Q(role="main_manager"),
                name="membership_one_main_manager",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.structure} ({self.get_role_display()})"

    @property
    def is_manager(self) -> bool:
        return self.role in self.MANAGER_ROLES

    @property
    def is_main_manager(self) -> bool:
        return self.role == self.Role.MAIN_MANAGER

    def may_detach(self, other: "Membership") -> bool:
        """The main manager detaches anyone else; a manager, simple users only."""
        if other.pk == self.pk or other.structure_id != self.structure_id or other.is_main_manager:
            return False
        return self.is_main_manager or (self.is_manager and other.role == self.Role.USER)


def rib_storage():
    """Private storage for RIB files (`STORAGES["ribs"]`): no URL serves it."""
    return storages["ribs"]


def rib_upload_to(bank_account: "BankAccount", filename: str) -> str:
    return uploads.stored_name(bank_account.rib_content_type)


IBAN_TAKEN = "Cet IBAN est déjà enregistré pour cette structure."
LABEL_TAKEN = "Une coordonnée bancaire de cette structure porte déjà ce nom."


class BankAccountQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(structure__memberships__user=user)

    def managed_by(self, user):
        return self.filter(structure__in=Structure.objects.managed_by(user))

    def rib_downloadable_by(self, user):
        """Whose RIB the user may download: the accounts of the structures they manage, since a RIB shows the
        whole IBAN, which only managers see; every one for staff allowed to see bank details."""
        if user.is_staff and user.has_perm("structures.view_bankaccount"):
            return self.all()
        return self.managed_by(user)

    def taken(self, structure, *, iban: str = "", label: str = "", excluding: "BankAccount | None" = None) -> dict:
        """Which of `iban` and `label` another account of the structure already has: {field: message}.

        The forms ask to put the message on its field; the workflows ask again under the
        structure's row lock, where the answer holds until they save. The database
        constraints, with the same messages, stay the last word.
        """
        others = self.filter(structure=structure)
        if excluding is not None:
            others = others.exclude(pk=excluding.pk)
        wanted = {"iban": (iban, IBAN_TAKEN), "label": (label, LABEL_TAKEN)}
        return {
            field: message
            for field, (value, message) in wanted.items()
            if value and others.filter(**{field: value}).exists()
        }


class BankAccount(models.Model):
    """« Coordonnée bancaire »: an IBAN, its BIC and the RIB that proves it, for one structure."""

    EXTENSIONS = uploads.EXTENSIONS

    structure = models.ForeignKey(
        Structure, on_delete=models.CASCADE, related_name="bank_accounts", verbose_name="structure"
    )
    label = models.CharField("nom de la coordonnée bancaire", max_length=100)
    iban = models.CharField("IBAN", max_length=34)
    bic = models.CharField("BIC", max_length=11)
    rib = models.FileField("RIB", storage=rib_storage, upload_to=rib_upload_to, max_length=100)
    rib_filename = models.CharField("nom du fichier transmis", max_length=200)
    rib_content_type = models.CharField(
        "type du fichier", max_length=20, choices=uploads.FILE_TYPES, default="application/pdf"
    )
    is_default = models.BooleanField("coordonnée par défaut", default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="créée par",
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    # History: each field before and after a save (not the audit trail, which says who did what).
    history = HistoricalRecords(excluded_fields=["updated_at"])
    objects = BankAccountQuerySet.as_manager()

    class Meta:
        verbose_name = "coordonnée bancaire"
        verbose_name_plural = "coordonnées bancaires"
        ordering = ["-is_default", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure"], condition=Q(is_default=True), name="bank_account_one_default"
            ),
            models.UniqueConstraint(
                fields=["structure", "iban"],
                name="bank_account_iban_unique",
                violation_error_message=IBAN_TAKEN,
            ),
            models.UniqueConstraint(
                fields=["structure", "label"],
                name="bank_account_label_unique",
                violation_error_message=LABEL_TAKEN,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.masked_iban})"

    def get_absolute_url(self) -> str:
        return reverse("structures:bank_account_detail", args=[self.pk])

    @property
    def masked_iban(self) -> str:
        """`FR76 •••• … 189`: enough to recognise an account, not to use it."""
        return f"{self.iban[:4]} •••• … {self.iban[-3:]}"

    @property
    def formatted_iban(self) -> str:
        return iban_groups(self.iban)

    @property
    def rib_download_name(self) -> str:
        return f"RIB-{self.structure.siret}-{self.pk}{self.EXTENSIONS[self.rib_content_type]}"

    # What an account was: read from its history, which outlives the account. A replaced or deleted RIB file stays
    # on disk, and each history row points to the file the account had then.

    @classmethod
    def version_at(
        cls, at: datetime, *, structure_id: int, iban: str, account_id: int | None = None
    ) -> "BankAccount | None":
        """The account as it was at `at`, its RIB the file it had then, even if it was deleted since: the one of id
        `account_id` while it exists, once deleted the one of the structure bearing `iban` then (the IBAN a refund
        request froze); None when there was none. Read from the history: never to be saved."""
        if account_id:
            rows = cls.history.filter(id=account_id)
        else:
            rows = cls.history.filter(structure_id=structure_id, iban=iban)
        rows = rows.filter(history_date__lte=at).exclude(history_type="-")
        record = rows.order_by("-history_date", "-history_id").first()
        return record.instance if record is not None else None

    @classmethod
    def changes_of(cls, *, structure_id: int, iban: str, account_id: int | None = None) -> list["Change"]:
        """The history of an account, newest first, even once deleted: found by its id while it exists (a refund
        request's `bank_account_id`); once deleted (the request's link is emptied), the structure's account(s) that
        bore `iban` (the one the request froze). An account of the same IBAN deleted before is another account."""
        ids = [account_id] if account_id else cls.history.filter(structure_id=structure_id, iban=iban).values("id")
        records = cls.history.filter(id__in=ids).select_related("history_user").order_by("history_date", "history_id")
        changes = []
        for record, before in with_previous(records):
            fields = []
            if before is not None and record.history_type == "~":
                delta = record.diff_against(before, excluded_fields=["rib"])
                fields = [FieldChange.of(cls._meta.get_field(d.field), d.old, d.new) for d in delta.changes]
                if record.rib != before.rib:  # the stored name is random: say that the file changed, not its name
                    fields.append(FieldChange("RIB", "fichier précédent", "nouveau fichier"))
            if record.history_type == "~" and not fields:
                continue  # saved without a change worth reading
            changes.append(Change(record.history_date, record.history_user, record.history_type, fields))
        return changes[::-1]


@dataclass(frozen=True)
class FieldChange:
    """A field before and after a change, as people read them (« Numéro PACAGE : 026123456 → 974000001 »)."""

    label: str
    before: str
    after: str

    @classmethod
    def of(cls, field, before, after) -> "FieldChange":
        return cls(capfirst(field.verbose_name), _shown(field, before), _shown(field, after))


@dataclass(frozen=True)
class Change:
    """One row of a history (a structure's, a bank account's), as `_partials/changes.html` shows it: created (`+`),
    changed (`~`, each field before and after), deleted (`-`)."""

    at: datetime
    by: object
    kind: str
    fields: list[FieldChange]

    @property
    def created(self) -> bool:
        return self.kind == "+"


def with_previous(records):
    """Each historical record, oldest first, beside the record of the same object just before it (None for its
    first): what a change is read against."""
    previous = {}
    for record in records:
        yield record, previous.get(record.id)
        previous[record.id] = record


def _shown(field, value) -> str:
    if value in ("", None):
        return "—"
    if field.choices:
        return str(dict(field.flatchoices).get(str(value), value))
    if isinstance(value, bool):
        return "Oui" if value else "Non"
    return str(value)
