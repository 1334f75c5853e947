"""The yearly TIC/TICGN refund request (REFUNDS.md) and the reference data it is computed from.

Reference data, kept by staff in the admin: the products and their units (`Product`), the published rate
of each product for each delivery year (`Rate`), and each year's filing campaign with its de minimis
ceiling (`Campaign`, and `ProductClosing` when a product closes earlier).

A request (`RefundRequest`) belongs to one structure and one year, once (a database constraint). Its
lines (`RefundLine`) carry the rate and amount computed by the server; sending freezes them, with the
bank account, the category and the PACAGE as they were. Every step after creation is an event
(`RefundEvent`), the « fil d'évènements ».
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.files.storage import storages
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from simple_history.models import HistoricalRecords

from chorus import uploads
from chorus.templatetags.ui import decimal_fr, euros
from structures.models import FieldChange, with_previous

CENT = Decimal("0.01")
# Why the lines' history has a row at a sending: the rates and amounts recomputed, by the portal.
RECOMPUTED = "Taux et montant recalculés à l'envoi"
# The longest message either side writes: a complement asked, a reason, the farm's answer (« 2 000 » in the pages).
MESSAGE_MAX_LENGTH = 2000
MESSAGE_MAX_TEXT = f"{MESSAGE_MAX_LENGTH:,}".replace(",", "\u00a0")


def round_to_cent(amount: Decimal) -> Decimal:
    """Half up, as the administration rounds: 0,005 € is a cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_text(rate: Decimal, product: "Product") -> str:
    """`14,96 €/hl`, `13,765 €/100 kg`: a rate as published, with its unit."""
    whole, _, decimals = f"{rate.normalize():f}".partition(".")
    return f"{whole},{decimals.ljust(2, '0')} {product.rate_unit}"


class Product(models.Model):
    """An energy product whose tax is refunded, with the unit of its invoices and the unit of its rate."""

    code = models.SlugField("code", max_length=30, unique=True)
    name = models.CharField("libellé", max_length=100)
    invoice_unit = models.CharField("unité des factures", max_length=20, help_text="Par exemple : litres, kg, MWh PCS.")
    rate_unit = models.CharField("unité du taux", max_length=20, help_text="Par exemple : €/hl, €/100 kg, €/MWh.")
    invoice_units_per_rate_unit = models.DecimalField(
        "quantité facturée par unité du taux",
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="100 pour des litres et un taux en €/hl, 100 pour des kg et un taux en €/100 kg, 1 pour des MWh.",
    )
    is_de_minimis = models.BooleanField(
        "aide de minimis",
        default=False,
        help_text="Le remboursement de ce produit compte dans le plafond des aides de minimis.",
    )
    position = models.PositiveSmallIntegerField("ordre d'affichage", default=0)

    class Meta:
        verbose_name = "produit"
        verbose_name_plural = "produits"
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def amount(self, quantity: Decimal, rate: Decimal) -> Decimal:
        """The refund of `quantity` (in the invoice's unit) at `rate` (in the rate's unit), to the cent."""
        return round_to_cent(quantity / self.invoice_units_per_rate_unit * rate)


class Rate(models.Model):
    """The published refund rate of a product for the deliveries of a year."""

    year = models.PositiveSmallIntegerField("année de livraison")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="rates", verbose_name="produit")
    amount = models.DecimalField(
        "taux", max_digits=9, decimal_places=4, validators=[MinValueValidator(Decimal("0.0001"))]
    )

    class Meta:
        verbose_name = "taux de remboursement"
        verbose_name_plural = "taux de remboursement"
        ordering = ["-year", "product__position"]
        constraints = [models.UniqueConstraint(fields=["year", "product"], name="rate_one_per_year_and_product")]

    def __str__(self) -> str:
        return f"{self.product} {self.year} : {self.display}"

    @property
    def display(self) -> str:
        return rate_text(self.amount, self.product)


def default_closing(year: int) -> date:
    """A year's deliveries may be claimed until 31 December of the third year after."""
    return date(year + 3, 12, 31)


class CampaignQuerySet(models.QuerySet):
    def open_on(self, day: date):
        return self.filter(opens_on__lte=day, closes_on__gte=day)

    def open_now(self):
        return self.open_on(timezone.localdate())


class Campaign(models.Model):
    """When the requests for a year's deliveries may be filed, and the year's de minimis ceiling."""

    year = models.PositiveSmallIntegerField("année de la demande", unique=True)
    opens_on = models.DateField("ouverture du dépôt")
    closes_on = models.DateField(
        "clôture du dépôt", help_text="Par défaut le 31 décembre de la troisième année suivante."
    )
    de_minimis_ceiling = models.DecimalField(
        "plafond des aides de minimis sur trois exercices",
        max_digits=12,
        decimal_places=2,
        default=Decimal("20000.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )

    objects = CampaignQuerySet.as_manager()

    class Meta:
        verbose_name = "campagne"
        verbose_name_plural = "campagnes"
        ordering = ["-year"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_on__gte=models.F("opens_on")), name="campaign_closes_after_opening"
            )
        ]

    def __str__(self) -> str:
        return f"Campagne {self.year}"

    def is_open(self, day: date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.opens_on <= day <= self.closes_on

    def closes_on_for(self, product: Product) -> date:
        """The product's own closing date when it closes earlier, else the campaign's."""
        closing = next((c for c in self.product_closings.all() if c.product_id == product.pk), None)
        return min(closing.closes_on, self.closes_on) if closing else self.closes_on


class ProductClosing(models.Model):
    """A product whose filing closes before the rest of its campaign (GNR 2022 closed on 31/12/2024)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="product_closings")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name="produit")
    closes_on = models.DateField("clôture du dépôt pour ce produit")

    class Meta:
        verbose_name = "clôture anticipée d'un produit"
        verbose_name_plural = "clôtures anticipées par produit"
        constraints = [models.UniqueConstraint(fields=["campaign", "product"], name="product_closing_once")]

    def __str__(self) -> str:
        return f"{self.product} : {self.closes_on:%d/%m/%Y}"


class RefundRequestQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The requests of the structures the user is attached to, in any role."""
        return self.filter(structure__memberships__user=user)

    def documents_readable_by(self, user):
        """The requests whose invoices and receipt the user may download: their structure's members, and staff
        allowed to see requests (the admin links them), as RIBs are to staff allowed to see bank details."""
        if user.is_staff and user.has_perm("refunds.view_refundrequest"):
            return self.all()
        return self.visible_to(user)


class RefundRequest(models.Model):
    """« Demande de remboursement »: a structure's claim for one year's deliveries."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        FILED = "filed", "Déposée"
        IN_REVIEW = "in_review", "En instruction"
        INFORMATION_REQUESTED = "information_requested", "Complément demandé"
        ACCEPTED = "accepted", "Acceptée"
        PARTLY_ACCEPTED = "partly_accepted", "Partiellement acceptée"
        REJECTED = "rejected", "Rejetée"
        IN_PAYMENT = "in_payment", "Mise en paiement"
        PAID = "paid", "Payée"

    # The lines can be changed only in these; in any other the request is read-only to the farm.
    EDITABLE = [Status.DRAFT, Status.INFORMATION_REQUESTED]
    # Decided and not yet paid: what « Mettre en paiement » takes.
    PAYABLE = [Status.ACCEPTED, Status.PARTLY_ACCEPTED]
    # Sent and not yet decided: the instructor's work, what the queue shows as it opens.
    TO_INSTRUCT = [Status.FILED, Status.IN_REVIEW]

    structure = models.ForeignKey(
        "structures.Structure", on_delete=models.PROTECT, related_name="refund_requests", verbose_name="structure"
    )
    year = models.PositiveSmallIntegerField("année de la demande")
    status = models.CharField("statut", max_length=24, choices=Status, default=Status.DRAFT, db_index=True)
    number = models.CharField("numéro", max_length=20, unique=True, null=True, blank=True)

    bank_account = models.ForeignKey(
        "structures.BankAccount",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="références bancaires",
    )
    not_in_difficulty = models.BooleanField("je certifie que l'entreprise n'est pas en difficulté", default=False)
    de_minimis_total = models.DecimalField(
        "montant des aides de minimis reçues sur l'exercice en cours et les deux précédents",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    total_asked = models.DecimalField("montant demandé", max_digits=14, decimal_places=2, default=Decimal("0.00"))
    total_granted = models.DecimalField("montant accordé", max_digits=14, decimal_places=2, null=True, blank=True)

    # Frozen when sent: what the request was filed with, whatever the structure or the account become.
    bank_label = models.CharField("nom de la coordonnée bancaire", max_length=100, blank=True)
    bank_holder = models.CharField(
        "titulaire du compte", max_length=300, blank=True, help_text="La structure, nommée comme au dépôt."
    )
    bank_iban = models.CharField("IBAN", max_length=34, blank=True)
    bank_bic = models.CharField("BIC", max_length=11, blank=True)
    beneficiary_category = models.CharField("catégorie de bénéficiaire", max_length=40, blank=True)
    pacage = models.CharField("numéro PACAGE", max_length=9, blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name="créée par"
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="déposée par",
    )
    filer_centre = models.ForeignKey(
        "structures.Structure",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="centre de gestion du déposant",
    )
    filed_at = models.DateTimeField("déposée le", null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="instructeur",
    )

    # The tax office that instructs it: the département of the structure's postal code at filing.
    departement = models.CharField("département", max_length=3, blank=True, db_index=True)
    payment_batch = models.ForeignKey(
        "PaymentBatch",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        verbose_name="lot de virements",
    )

    objects = RefundRequestQuerySet.as_manager()

    class Meta:
        verbose_name = "demande de remboursement"
        verbose_name_plural = "demandes de remboursement"
        ordering = ["-year", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "year"],
                name="refund_request_one_per_structure_and_year",
                violation_error_message="Cette structure a déjà une demande pour cette année.",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(number__isnull=False), name="refund_request_sent_has_number"
            ),
        ]
        indexes = [
            # The instructor's queue: a département's sent requests in filing order, read a page at a time.
            models.Index(
                fields=["departement", "filed_at", "id"], condition=~Q(status="draft"), name="refund_request_queue"
            ),
            # The queue as it opens (`TO_INSTRUCT`): without it, its first page walks past every decided request.
            models.Index(
                fields=["departement", "filed_at", "id"],
                condition=Q(status__in=["filed", "in_review"]),
                name="refund_request_to_instruct",
            ),
            # The queue's counts and its years, from the index alone.
            models.Index(
                fields=["departement", "status", "year"],
                condition=~Q(status="draft"),
                name="refund_request_queue_counts",
            ),
            # A batch's requests and their départements: the batches an instructor may open (`instruction.access`).
            models.Index(
                fields=["payment_batch", "departement"],
                condition=Q(payment_batch__isnull=False),
                name="refund_request_batch",
            ),
            # « Paiements »: a département's accepted requests not yet in a batch.
            models.Index(
                fields=["departement"],
                condition=Q(status__in=["accepted", "partly_accepted"], payment_batch__isnull=True),
                name="refund_request_payable",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"Brouillon {self.year} ({self.structure.display_name})"

    def get_absolute_url(self) -> str:
        return reverse("refunds:request_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    @property
    def is_sent(self) -> bool:
        return self.status != self.Status.DRAFT

    @property
    def masked_iban(self) -> str:
        iban = self.bank_iban if self.bank_iban else (self.bank_account.iban if self.bank_account else "")
        return f"{iban[:4]} •••• … {iban[-3:]}" if iban else ""

    @property
    def display_number(self) -> str:
        return self.number or "Brouillon"

    @property
    def title(self) -> str:
        """How pages and breadcrumbs name it: « Demande TIC-2023-000123 », or « Demande 2023 (brouillon) »."""
        return f"Demande {self.number}" if self.number else f"Demande {self.year} (brouillon)"

    def line_changes(self) -> list["LineChange"]:
        """The lines added, changed or deleted since the request was first sent (answering a complement), oldest
        first, each with who, when and every field before and after: read from the lines' history."""
        if self.filed_at is None:
            return []
        records = (
            RefundLine.history.filter(request_id=self.pk)
            .select_related("history_user", "product")
            .order_by("id", "history_date", "history_id")
        )
        changes = []
        for record, before in with_previous(records):
            if record.history_date <= self.filed_at:
                continue
            fields = []
            if record.history_type == "~" and before is not None:
                delta = record.diff_against(before, included_fields=LineChange.FIELDS)
                fields = [
                    FieldChange.of(
                        RefundLine._meta.get_field(d.field), _line_value(before, d.field), _line_value(record, d.field)
                    )
                    for d in sorted(delta.changes, key=lambda d: LineChange.FIELDS.index(d.field))
                ]
                # A new invoice file may bear the name of the one it replaces: say it is another file.
                fields = [
                    FieldChange(f.label, f.before, f"{f.after} (nouveau fichier)") if f.label == "Facture" else f
                    for f in fields
                ]
                if not fields:
                    continue  # saved again as it was (the rates recomputed at sending)
            kind = {"+": "ajoutée", "~": "modifiée", "-": "supprimée"}[record.history_type]
            # The rates recomputed at a sending are the portal's doing, not the farm's.
            by = None if record.history_change_reason == RECOMPUTED else record.history_user
            # The invoice a change replaced (its file is kept once the request was sent): the instructor may open it.
            replaced = before.history_id if any(f.label == "Facture" for f in fields) and before.invoice else None
            changes.append(LineChange(record.invoice_number, kind, record.history_date, by, fields, replaced))
        return sorted(changes, key=lambda change: change.at)


def invoice_storage():
    """Private storage for invoices (`STORAGES["invoices"]`): no URL serves it."""
    return storages["invoices"]


def invoice_upload_to(line: "RefundLine", filename: str) -> str:
    return uploads.stored_name(line.invoice_content_type)


INVOICE_MISSING = "Aucune facture n'est jointe à cette ligne, ou son fichier est introuvable."
INVOICE_NUMBER_TAKEN = "Ce numéro de facture figure déjà dans la demande de cette structure pour cette année."


class RefundLine(models.Model):
    """« Ligne de demande »: one invoice, its product and quantity, and the refund it gives."""

    EXTENSIONS = uploads.EXTENSIONS

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="lines")
    invoice_number = models.CharField("numéro de facture", max_length=40)
    invoice_date = models.DateField("date de la facture")
    supplier = models.CharField("fournisseur", max_length=120)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name="produit")
    quantity = models.DecimalField("quantité", max_digits=10, decimal_places=2)
    rate = models.DecimalField("taux", max_digits=9, decimal_places=4)
    amount = models.DecimalField("montant", max_digits=12, decimal_places=2)
    granted_amount = models.DecimalField("montant accordé", max_digits=12, decimal_places=2, null=True, blank=True)
    reduction_reason = models.TextField("motif de la réduction", blank=True)
    invoice = models.FileField(
        "facture", storage=invoice_storage, upload_to=invoice_upload_to, max_length=100, blank=True
    )
    invoice_filename = models.CharField("nom du fichier transmis", max_length=200, blank=True)
    invoice_content_type = models.CharField("type du fichier", max_length=20, choices=uploads.FILE_TYPES, blank=True)
    position = models.PositiveIntegerField("ordre", default=0)

    # History: what a line was before each change, so that the lines changed for a complement keep what was filed
    # (the files of replaced invoices are kept for it, once the request was sent).
    history = HistoricalRecords(excluded_fields=["position"])

    class Meta:
        verbose_name = "ligne de demande"
        verbose_name_plural = "lignes de demande"
        ordering = ["position", "pk"]
        constraints = [
            # One request per structure and year, so this is « once per structure and year ».
            models.UniqueConstraint(
                Upper("invoice_number"),
                "request",
                name="refund_line_invoice_number_once",
                violation_error_message=INVOICE_NUMBER_TAKEN,
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="refund_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"Facture {self.invoice_number}"

    @property
    def has_invoice(self) -> bool:
        return bool(self.invoice)

    @property
    def invoice_download_name(self) -> str:
        """`facture-FA-2023-0042.pdf`: the invoice number in ASCII letters, digits, dots and dashes (a number with
        none of them is named by the line's id)."""
        ascii_number = unicodedata.normalize("NFKD", self.invoice_number).encode("ascii", "ignore").decode()
        safe = re.sub(r"[^A-Za-z0-9.]+", "-", ascii_number).strip("-.")
        return f"facture-{safe or self.pk}{self.EXTENSIONS.get(self.invoice_content_type, '')}"

    @property
    def rate_display(self) -> str:
        return rate_text(self.rate, self.product)


@dataclass(frozen=True)
class LineChange:
    """A line of a sent request added, changed or deleted for a complement, as the instructor reads it."""

    FIELDS = ["invoice_number", "invoice_date", "supplier", "product", "quantity", "amount", "invoice"]

    invoice_number: str
    kind: str  # « ajoutée », « modifiée », « supprimée »
    at: datetime
    by: object  # None: the portal (the rates recomputed at a sending)
    fields: list[FieldChange]
    replaced_invoice: int | None = None  # the history id of the line as it was, when its invoice was replaced


def _line_value(record, field: str):
    """A historical line's value as people read it: the product's name, a French quantity, an amount in euros."""
    if field == "product":
        return record.product.name
    if field == "quantity":
        return f"{decimal_fr(record.quantity)} {record.product.invoice_unit}"
    if field == "amount":
        return euros(record.amount)
    if field == "invoice_date":
        return date_format(record.invoice_date, "SHORT_DATE_FORMAT")
    if field == "invoice":
        return record.invoice_filename if record.invoice else ""
    return getattr(record, field)


class RefundEvent(models.Model):
    """An entry of the « fil d'évènements »: who did what to the request, when, and what they wrote."""

    class Kind(models.TextChoices):
        CREATED = "created", "Brouillon créé"
        FILED = "filed", "Demande déposée"
        TAKEN = "taken", "Prise en charge"
        INFORMATION_REQUESTED = "information_requested", "Complément demandé"
        REFILED = "refiled", "Complément envoyé"
        ACCEPTED = "accepted", "Demande acceptée"
        PARTLY_ACCEPTED = "partly_accepted", "Demande partiellement acceptée"
        REJECTED = "rejected", "Demande rejetée"
        IN_PAYMENT = "in_payment", "Mise en paiement"
        PAID = "paid", "Paiement effectué"

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField("évènement", max_length=24, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name="par"
    )
    actor_label = models.CharField("par (au moment de l'évènement)", max_length=300, blank=True)
    at = models.DateTimeField("le", default=timezone.now)
    message = models.TextField("message", blank=True)

    class Meta:
        verbose_name = "évènement"
        verbose_name_plural = "fil d'évènements"
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.at:%d/%m/%Y %H:%M})"


class RefundFlag(models.Model):
    """« Signalement »: what the instructor should look at twice, found when the request was sent."""

    class Kind(models.TextChoices):
        RECENT_BANK_ACCOUNT = "recent_bank_account", "Coordonnée bancaire récente"
        INVOICE_ELSEWHERE = "invoice_elsewhere", "Facture présentée par une autre structure"
        QUANTITY_JUMP = "quantity_jump", "Quantité plus de trois fois supérieure à l'an passé"
        FIRST_REQUEST = "first_request", "Première demande"
        SIRENE = "sirene", "Répertoire SIRENE"

    request = models.ForeignKey(RefundRequest, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField("signalement", max_length=24, choices=Kind)
    explanation = models.TextField("explication")

    class Meta:
        verbose_name = "signalement"
        verbose_name_plural = "signalements"
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["request", "kind"], name="refund_flag_once_per_kind")]

    def __str__(self) -> str:
        return self.get_kind_display()


def payment_storage():
    """Private storage for SEPA transfer files (`STORAGES["payments"]`): no URL serves it."""
    return storages["payments"]


def payment_upload_to(batch: "PaymentBatch", filename: str) -> str:
    return f"{batch.number}.xml"


class PaymentBatch(models.Model):
    """« Lot de virements »: the accepted requests put in payment together, and the SEPA file that pays them."""

    class Status(models.TextChoices):
        IN_PAYMENT = "in_payment", "Mis en paiement"
        PAID = "paid", "Payé"

    number = models.CharField("numéro", max_length=35, unique=True)
    status = models.CharField("statut", max_length=12, choices=Status, default=Status.IN_PAYMENT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name="créé par"
    )
    created_at = models.DateTimeField("créé le", default=timezone.now)
    execution_date = models.DateField("date d'exécution demandée")
    transfer_count = models.PositiveIntegerField("nombre de virements")
    control_sum = models.DecimalField("montant total", max_digits=16, decimal_places=2)
    file = models.FileField("fichier SEPA", storage=payment_storage, upload_to=payment_upload_to, max_length=100)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="marqué payé par",
    )
    paid_at = models.DateTimeField("marqué payé le", null=True, blank=True)

    class Meta:
        verbose_name = "lot de virements"
        verbose_name_plural = "lots de virements"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.number

    @property
    def download_name(self) -> str:
        return f"virements-{self.number}.xml"
