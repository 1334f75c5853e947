"""Every step of a refund request on the farm's side: each one transaction, under the request's row lock.

A draft is opened once per structure and year (`start`; the database constraint settles a race), its
header saved (`save_header`), its lines added, changed, deleted or imported, their invoices attached.
`problems` says what still stops it from being sent; `send` checks that again under the lock, then
freezes the rates, the amounts, the bank account, the category and the PACAGE, numbers the request, notes
the département that instructs it, computes its flags (`refunds.flags`) and mails the filer and the
structure's managers. A request sent back with a complement keeps what its first filing froze; its flags are
computed again.

The amounts are the server's: a line's rate is the published rate of its product for the request's
year, its amount that rate times the quantity, rounded to the cent half up, and the total the sum of the
rounded lines.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from audit.log import record
from audit.models import Action
from chorus.uploads import CleanFile
from refunds import emails, flags, signals
from refunds.models import RECOMPUTED, Campaign, Product, Rate, RefundEvent, RefundLine, RefundRequest
from structures import departements
from structures.models import BankAccount, Structure


class NotEditable(Exception):
    """The request was sent, or deleted, since the page was shown."""


class InvoiceNumberTaken(Exception):
    """Another line of the request took this invoice number a moment earlier."""


class RateMissing(Exception):
    """No rate is published for this product and year."""


@dataclass(frozen=True)
class Problem:
    """Something that stops a request from being sent, and the field it is shown next to."""

    field: str
    message: str


class SendingRefused(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class LineData:
    """What a line says, as a form or a row of an imported file gives it."""

    invoice_number: str
    invoice_date: date
    supplier: str
    product: Product
    quantity: Decimal


@dataclass(frozen=True)
class Invoice:
    """An invoice file as stored (`chorus.uploads.clean_upload`) and the name it was sent under."""

    file: CleanFile
    filename: str


# Who may file, and for what.


def filing_structures(user):
    """The farms the user may file for: those they are attached to, management centres aside."""
    return Structure.objects.visible_to(user).filter(is_agricultural_centre=False, status=Structure.Status.ACTIVE)


def open_campaigns(day: date | None = None):
    return Campaign.objects.open_on(day or timezone.localdate()).prefetch_related("product_closings")


def rates_of(year: int) -> dict[int, Rate]:
    """The published rates of a year, by product id."""
    return {rate.product_id: rate for rate in Rate.objects.filter(year=year).select_related("product")}


def departement_of(structure: Structure) -> str:
    """The département whose tax office instructs the structure's requests: its French postal code's, else none (a
    foreign address, Monaco, the Pacific)."""
    return departements.of_postal_code(structure.postal_code) if structure.country == "FR" else ""


def centre_of(user) -> Structure | None:
    """The management centre the user works for, if any: named on what they file for a farm."""
    return Structure.objects.visible_to(user).filter(is_agricultural_centre=True).order_by("pk").first()


# Steps.


def start(structure: Structure, year: int, *, by) -> tuple[RefundRequest, bool]:
    """The structure's request for the year: the existing one, or a new draft (with the default account)."""
    existing = RefundRequest.objects.filter(structure=structure, year=year).first()
    if existing is not None:
        return existing, False
    default_account = structure.bank_accounts.filter(is_default=True).exclude(rib="").first()
    try:
        with transaction.atomic():
            request = RefundRequest.objects.create(
                structure=structure, year=year, created_by=by, bank_account=default_account
            )
            _event(request, RefundEvent.Kind.CREATED, by)
    except IntegrityError:
        # Another tab of the same farm opened it a moment earlier: one request per structure and year.
        return RefundRequest.objects.get(structure=structure, year=year), False
    return request, True


@transaction.atomic
def save_header(
    request_pk: int,
    *,
    bank_account: BankAccount | None,
    not_in_difficulty: bool,
    de_minimis_total: Decimal | None,
    by,
) -> RefundRequest:
    """« Enregistrer »: the header of a draft."""
    request = _locked(request_pk, drafts_only=True)
    if bank_account is not None and bank_account.structure_id != request.structure_id:
        raise BankAccount.DoesNotExist
    request.bank_account = bank_account
    request.not_in_difficulty = not_in_difficulty
    request.de_minimis_total = de_minimis_total
    request.save(update_fields=["bank_account", "not_in_difficulty", "de_minimis_total", "updated_at"])
    return request


@transaction.atomic
def delete_draft(request_pk: int, *, by) -> None:
    request = _locked(request_pk, drafts_only=True)
    invoices = [line.invoice.name for line in request.lines.all() if line.invoice]
    record(
        Action.REFUND_DRAFT_DELETED,
        actor=by,
        structure=request.structure,
        target=f"Brouillon {request.year}",
        lines=len(invoices),
    )
    request.delete()
    _delete_files_after_commit(invoices)


@transaction.atomic
def add_line(request_pk: int, data: LineData, *, invoice: Invoice | None = None, by) -> RefundLine:
    request = _locked(request_pk)
    rate = _rate(request.year, data.product)
    position = (request.lines.order_by("-position").values_list("position", flat=True).first() or 0) + 1
    line = RefundLine(request=request, position=position)
    line._history_user = by  # the lines' history says who, also outside a request (simple_history)
    _fill(line, data, rate)
    if invoice is not None:
        _attach(line, invoice)
    _save_line(line, stored=line.invoice.name if invoice is not None else "")
    _update_total(request)
    return line


@transaction.atomic
def update_line(line_pk: int, data: LineData, *, invoice: Invoice | None = None, by) -> RefundLine:
    line = RefundLine.objects.select_related("request").get(pk=line_pk)
    request = _locked(line.request_id)
    line = request.lines.select_related("product").get(pk=line_pk)
    line._history_user = by
    old_file = line.invoice.name if (invoice is not None and line.invoice) else ""
    _fill(line, data, _rate(request.year, data.product))
    if invoice is not None:
        _attach(line, invoice)
    _save_line(line, stored=line.invoice.name if invoice is not None else "")
    _update_total(request)
    _delete_replaced_files(request, [old_file])
    return line


@transaction.atomic
def attach_invoice(line_pk: int, invoice: Invoice, *, by) -> RefundLine:
    line = RefundLine.objects.get(pk=line_pk)
    request = _locked(line.request_id)
    line = request.lines.get(pk=line_pk)
    line._history_user = by
    old_file = line.invoice.name if line.invoice else ""
    _attach(line, invoice)
    line.save()
    _delete_replaced_files(request, [old_file])
    return line


@transaction.atomic
def delete_line(line_pk: int, *, by) -> None:
    line = RefundLine.objects.get(pk=line_pk)
    request = _locked(line.request_id)
    line = request.lines.get(pk=line_pk)
    line._history_user = by
    old_file = line.invoice.name if line.invoice else ""
    line.delete()
    _update_total(request)
    _delete_replaced_files(request, [old_file])


@transaction.atomic
def import_lines(request_pk: int, rows: list[LineData], *, by) -> list[RefundLine]:
    """The lines of an imported file, all of them or none (the file was checked row by row before)."""
    request = _locked(request_pk)
    rates = rates_of(request.year)
    last = request.lines.order_by("-position").values_list("position", flat=True).first() or 0
    lines = []
    for position, data in enumerate(rows, start=last + 1):
        if data.product.pk not in rates:
            raise RateMissing(data.product)
        line = RefundLine(request=request, position=position)
        _fill(line, data, rates[data.product.pk])
        lines.append(line)
    try:
        with transaction.atomic():
            bulk_create_with_history(lines, RefundLine, default_user=by)
    except IntegrityError:
        raise InvoiceNumberTaken from None
    _update_total(request)
    return lines


def problems(request: RefundRequest, *, day: date | None = None) -> list[Problem]:
    """What stops the request from being sent, each with the field it belongs to; none when it can go."""
    day = day or timezone.localdate()
    found = []
    # A draft is filed within its campaign, with the header it shows. A request sent back with the complement an
    # instructor asked for keeps its filed header (category, PACAGE, account, statement), and may be sent back after
    # the closing.
    first_filing = request.status == RefundRequest.Status.DRAFT
    if first_filing and (message := _structure_missing(request.structure)):
        found.append(Problem("structure", message))
    elif first_filing and not departement_of(request.structure):
        # The tax office that instructs a request is the département's: without one, no instructor would see it.
        found.append(
            Problem(
                "structure",
                "L'adresse de la structure n'a pas de code postal d'un département français (métropole, Corse ou "
                "outre-mer) : un gestionnaire de la structure le corrige dans « Modifier une structure » ; il dit "
                "quel service instruit la demande.",
            )
        )
    campaign = Campaign.objects.prefetch_related("product_closings").filter(year=request.year).first()
    if first_filing and (campaign is None or not campaign.is_open(day)):
        found.append(Problem("year", f"Le dépôt des demandes pour l'année {request.year} est clos."))
    if first_filing:
        found += _bank_account_problems(request)
    if first_filing and not request.not_in_difficulty:
        found.append(
            Problem(
                "not_in_difficulty", "Cochez la déclaration « Je certifie que l'entreprise n'est pas en difficulté »."
            )
        )
    lines = list(request.lines.select_related("product"))
    if not lines:
        found.append(Problem("lines", "Ajoutez au moins une ligne de demande."))
    if without := [line.invoice_number for line in lines if not line.invoice]:
        found.append(Problem("lines", f"Joignez la facture de chaque ligne : il manque {_numbers(without)}."))
    rates = rates_of(request.year)
    if unpriced := sorted({line.product.name for line in lines if line.product_id not in rates}):
        found.append(
            Problem("lines", f"Les taux {request.year} ne sont pas encore publiés pour : {', '.join(unpriced)}.")
        )
    if first_filing and campaign is not None and campaign.is_open(day):
        closed = sorted({line.product.name for line in lines if campaign.closes_on_for(line.product) < day})
        if closed:
            found.append(Problem("lines", f"Le dépôt est clos pour l'année {request.year} pour : {', '.join(closed)}."))
    if first_filing and any(line.product.is_de_minimis for line in lines) and request.de_minimis_total is None:
        found.append(
            Problem(
                "de_minimis_total",
                "Indiquez le montant des aides de minimis reçues sur l'exercice en cours et les deux précédents "
                "(0 si aucune).",
            )
        )
    return found


def _bank_account_problems(request: RefundRequest) -> list[Problem]:
    """A draft's « Références bancaires »: an account of the structure, with its RIB."""
    if request.bank_account is None and not request.structure.bank_accounts.exclude(rib="").exists():
        message = (
            "La structure n'a aucune coordonnée bancaire avec son RIB : un gestionnaire doit en créer une "
            "(« Créer une coordonnée bancaire ») avant l'envoi."
        )
    elif request.bank_account is None:
        message = "Choisissez les références bancaires sur lesquelles verser le remboursement."
    elif not request.bank_account.rib:
        message = "Ces références bancaires n'ont pas de RIB : ajoutez-le avant d'envoyer."
    else:
        return []
    return [Problem("bank_account", message)]


def _structure_missing(structure: Structure) -> str:
    """What to do when the structure lacks its category or its PACAGE, which sending copies onto the request."""
    if not structure.beneficiary_category and not structure.pacage:
        return (
            "La catégorie de bénéficiaire et le numéro PACAGE de la structure manquent : un gestionnaire de la "
            "structure les renseigne dans « Modifier une structure » ; ils sont reportés sur la demande."
        )
    if not structure.beneficiary_category:
        return (
            "La catégorie de bénéficiaire de la structure manque : un gestionnaire de la structure la renseigne dans "
            "« Modifier une structure » ; elle est reportée sur la demande."
        )
    if not structure.pacage:
        return (
            "Le numéro PACAGE de la structure manque : un gestionnaire de la structure le renseigne dans « Modifier "
            "une structure » ; il est reporté sur la demande."
        )
    return ""


class AlreadySent(Exception):
    """Another member sent the request first."""


@transaction.atomic
def send(request_pk: int, *, by, message: str = "") -> RefundRequest:
    """« Envoyer »: checked again under the lock, then frozen, numbered, « Déposée », flagged, and mailed.

    `message`: the farm's answer when it sends the request back with the complement asked (« Répondre au
    complément »), kept on the « Complément envoyé » event.
    """
    try:
        request = _locked(request_pk)
    except NotEditable:
        raise AlreadySent from None
    if found := problems(request):
        raise SendingRefused(found)
    rates = rates_of(request.year)
    lines = list(request.lines.select_related("product"))
    for line in lines:
        line.rate = rates[line.product_id].amount
        line.amount = line.product.amount(line.quantity, line.rate)
    bulk_update_with_history(lines, RefundLine, ["rate", "amount"], default_user=by, default_change_reason=RECOMPUTED)
    request.total_asked = sum((line.amount for line in lines), Decimal("0.00"))
    refiled = request.status == RefundRequest.Status.INFORMATION_REQUESTED
    if not refiled:
        # The first filing freezes the header; sending the complement back keeps it, and its date and filer (the
        # « Complément envoyé » event says who sent it back, and when).
        account = request.bank_account
        request.bank_label, request.bank_iban, request.bank_bic = account.label, account.iban, account.bic
        request.bank_holder = request.structure.display_name
        request.beneficiary_category = request.structure.beneficiary_category
        request.pacage = request.structure.pacage
        request.number = f"TIC-{request.year}-{request.pk:06d}"
        request.filed_at = timezone.now()
        request.filed_by = by
        request.filer_centre = centre_of(by)
        # The tax office that instructs it, once: a farm that moves afterwards stays with the office it filed with.
        request.departement = departement_of(request.structure)
    request.status = RefundRequest.Status.FILED
    request.save()
    flags.renew(request, lines)
    _event(request, RefundEvent.Kind.REFILED if refiled else RefundEvent.Kind.FILED, by, message)
    record(
        Action.REFUND_FILED,
        actor=by,
        structure=request.structure,
        target=request.number,
        total=str(request.total_asked),
    )
    emails.request_filed(request, lines, refiled=refiled, by=by, centre=centre_of(by) if refiled else None)
    if refiled:
        signals.complement_answered.send(RefundRequest, request=request, answer=message, by=by)
    return request


# Helpers.


def _locked(request_pk: int, *, drafts_only: bool = False) -> RefundRequest:
    """The request, locked until the step commits; refused once it can no longer be changed."""
    request = (
        RefundRequest.objects.select_for_update(of=("self",))
        .select_related("structure", "bank_account")
        .filter(pk=request_pk)
        .first()
    )
    allowed = [RefundRequest.Status.DRAFT] if drafts_only else RefundRequest.EDITABLE
    if request is None or request.status not in allowed:
        raise NotEditable
    return request


def _rate(year: int, product: Product) -> Rate:
    rate = Rate.objects.filter(year=year, product=product).first()
    if rate is None:
        raise RateMissing(product)
    return rate


def _fill(line: RefundLine, data: LineData, rate: Rate) -> None:
    line.invoice_number = data.invoice_number
    line.invoice_date = data.invoice_date
    line.supplier = data.supplier
    line.product = data.product
    line.quantity = data.quantity
    line.rate = rate.amount
    line.amount = data.product.amount(data.quantity, rate.amount)


def _attach(line: RefundLine, invoice: Invoice) -> None:
    line.invoice_content_type = invoice.file.content_type
    line.invoice_filename = invoice.filename[:200]
    # save=False: the caller saves the row, once, in its transaction.
    line.invoice.save("facture", invoice.file.content, save=False)


def _save_line(line: RefundLine, stored: str = "") -> None:
    """`stored`: the file this step has just stored for the line, removed if the line cannot be saved."""
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError:
        if stored:
            line.invoice.storage.delete(stored)
        raise InvoiceNumberTaken from None


def _update_total(request: RefundRequest) -> None:
    total = request.lines.aggregate(total=Sum("amount"))["total"] or Decimal("0.00")
    RefundRequest.objects.filter(pk=request.pk).update(total_asked=total, updated_at=timezone.now())
    request.total_asked = total


def _event(request: RefundRequest, kind: RefundEvent.Kind, by, message: str = "") -> RefundEvent:
    label = f"{by.get_full_name()} ({by.email})" if by is not None else ""
    return RefundEvent.objects.create(request=request, kind=kind, actor=by, actor_label=label, message=message)


def _numbers(numbers: list[str]) -> str:
    shown = ", ".join(f"« {number} »" for number in numbers[:5])
    more = len(numbers) - 5
    return (
        f"la facture {shown}"
        if len(numbers) == 1
        else f"les factures {shown}" + (f" et {more} autres" if more > 0 else "")
    )


def _delete_replaced_files(request: RefundRequest, names: list[str]) -> None:
    """A draft's replaced or deleted invoices go once the step commits; a sent request's stay, as its lines'
    history points to them: what was filed is kept when the farm answers a complement."""
    if request.status == RefundRequest.Status.DRAFT:
        _delete_files_after_commit(names)


def _delete_files_after_commit(names: list[str]) -> None:
    storage = RefundLine._meta.get_field("invoice").storage
    for name in filter(None, names):
        transaction.on_commit(lambda name=name: storage.delete(name))
