"""The flags an instructor should look at twice (REFUNDS.md §4), found each time a request is sent.

`renew` is called by `workflows.send` inside its transaction, on the first filing and on each sending back after a
complement: the request's old flags go, the new ones are written, each with a French explanation for the
instructor. They say what the data show, never a verdict:
- the bank account paid was created or changed within 30 days before the filing;
- an invoice number of the request appears in a sent request of another structure for the same year;
- a product's quantity is more than three times that of the structure's request of the year before;
- the structure has sent no other request;
- the SIRENE directory does not hold the structure's SIRET, or says its establishment is closed.

Each check is one or two queries, whatever the number of lines.
"""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Subquery, Sum
from django.db.models.functions import Upper
from django.utils import timezone

from chorus.templatetags.ui import decimal_fr
from refunds.models import RefundFlag, RefundLine, RefundRequest
from structures.models import BankAccount, SireneState

RECENT_DAYS = 30
JUMP_FACTOR = 3
# What makes a bank account's change worth a look: where the money goes and what proves it. The default flag or
# a save that changed nothing is no change of the account.
WATCHED_FIELDS = {"label": "nom", "iban": "IBAN", "bic": "BIC", "rib": "RIB"}
Kind = RefundFlag.Kind


def renew(request: RefundRequest, lines: list[RefundLine]) -> list[RefundFlag]:
    """Replaces the request's flags by those its data show now (`request.filed_at` is the filing's date)."""
    flags = compute(request, lines)
    RefundFlag.objects.filter(request=request).delete()
    return RefundFlag.objects.bulk_create(flags)


def compute(request: RefundRequest, lines: list[RefundLine]) -> list[RefundFlag]:
    """The flags of a request being sent, unsaved; `lines` with their products."""
    found = {
        Kind.RECENT_BANK_ACCOUNT: recent_bank_account(request),
        Kind.INVOICE_ELSEWHERE: invoice_elsewhere(request, lines),
        Kind.QUANTITY_JUMP: quantity_jump(request, lines),
        Kind.FIRST_REQUEST: first_request(request),
        Kind.SIRENE: sirene(request),
    }
    return [RefundFlag(request=request, kind=kind, explanation=text) for kind, text in found.items() if text]


def recent_bank_account(request: RefundRequest) -> str:
    """The account's creation and changes within 30 days before the filing, read from its history.

    The account filed: the request's own, or, once it is gone, the structure's account that bore the IBAN filed.
    """
    history = BankAccount.history.model.objects
    if request.bank_account_id is not None:
        accounts = [request.bank_account_id]
    else:
        accounts = Subquery(
            history.filter(structure_id=request.structure_id, iban=request.bank_iban).values("id").distinct()
        )
    filed_at = request.filed_at
    since = filed_at - timedelta(days=RECENT_DAYS)
    rows = list(history.filter(id__in=accounts, history_date__lte=filed_at).order_by("id", "history_date", "pk"))
    sentences = []
    for row, previous in zip(rows, [None, *rows], strict=False):
        if row.history_date < since or row.history_type == "-":
            continue
        when = f"le {timezone.localtime(row.history_date):%d/%m/%Y}, {_days_before(row.history_date, filed_at)}"
        if row.history_type == "+":
            sentences.append(f"a été créée {when}")
        elif previous is None or previous.id != row.id:
            sentences.append(f"a été modifiée {when}")  # its history starts with this change
        elif changed := _changed(row, previous):
            sentences.append(f"a été modifiée {when} ({', '.join(changed)})")
    if not sentences:
        return ""
    label = request.bank_label or (request.bank_account.label if request.bank_account else "")
    return f"La coordonnée bancaire « {label} » " + " ; elle ".join(sentences) + "."


def _changed(row, previous) -> list[str]:
    return [name for field, name in WATCHED_FIELDS.items() if getattr(row, field) != getattr(previous, field)]


def _days_before(moment, filed_at) -> str:
    days = (timezone.localtime(filed_at).date() - timezone.localtime(moment).date()).days
    if days == 0:
        return "le jour du dépôt"
    return f"{days} jour{'s' if days > 1 else ''} avant le dépôt"


def invoice_elsewhere(request: RefundRequest, lines: list[RefundLine]) -> str:
    """The request's invoice numbers (whatever their case) found in another structure's sent request of the year."""
    own = RefundLine.objects.filter(request=request).annotate(number=Upper("invoice_number")).values("number")
    found = (
        RefundLine.objects.filter(request__year=request.year)
        .exclude(request__status=RefundRequest.Status.DRAFT)
        .exclude(request__structure_id=request.structure_id)
        .annotate(number=Upper("invoice_number"))
        .filter(number__in=Subquery(own))
        .order_by("number", "request__number")
        .values_list("number", "invoice_number", "request__number", "request__structure__siret")
    )
    ours = {line.invoice_number.upper(): line.invoice_number for line in lines}
    elsewhere: dict[str, tuple[str, list[str]]] = {}
    for number, theirs, other_request, siret in found:
        _, where = elsewhere.setdefault(number, (ours.get(number, theirs), []))
        if (entry := f"{other_request} (SIRET {siret})") not in where:
            where.append(entry)
    # One request per structure and year: as many requests, as many other structures.
    return " ".join(
        f"La facture « {shown} » figure aussi dans "
        + (
            f"la demande {where[0]} d'une autre structure"
            if len(where) == 1
            else f"les demandes {', '.join(where)} d'autres structures"
        )
        + f" pour l'année {request.year}."
        for shown, where in elsewhere.values()
    )


def quantity_jump(request: RefundRequest, lines: list[RefundLine]) -> str:
    """Each product whose quantity is more than three times that of the structure's sent request of the year
    before (a product it did not ask for then is not compared)."""
    previous = {
        product: (total, number)
        for product, total, number in RefundLine.objects.filter(
            request__structure_id=request.structure_id, request__year=request.year - 1
        )
        .exclude(request__status=RefundRequest.Status.DRAFT)
        .order_by()
        .values("product", "request__number")
        .annotate(total=Sum("quantity"))
        .values_list("product", "total", "request__number")
    }
    now: dict[int, Decimal] = {}
    products = {}
    for line in lines:
        now[line.product_id] = now.get(line.product_id, Decimal("0")) + line.quantity
        products[line.product_id] = line.product
    sentences = []
    for product_id, quantity in now.items():
        before, number = previous.get(product_id, (Decimal("0"), ""))
        if before > 0 and quantity > JUMP_FACTOR * before:
            product = products[product_id]
            sentences.append(
                f"{product.name} : {decimal_fr(quantity)} {product.invoice_unit} demandés, contre "
                f"{decimal_fr(before)} {product.invoice_unit} dans la demande {number} de {request.year - 1}."
            )
    return " ".join(sentences)


def first_request(request: RefundRequest) -> str:
    others = (
        RefundRequest.objects.filter(structure_id=request.structure_id)
        .exclude(pk=request.pk)
        .exclude(status=RefundRequest.Status.DRAFT)
        .filter(filed_at__lt=request.filed_at)  # sent back for a complement, it stays the first it was
    )
    if others.exists():
        return ""
    return "Première demande de la structure : elle n'a envoyé aucune autre demande de remboursement."


def sirene(request: RefundRequest) -> str:
    """The directory's mark on the structure, as the last stock set it (`structures.receivers`)."""
    structure = request.structure
    if structure.sirene_state == SireneState.UNLISTED:
        return (
            f"SIRET absent du stock SIRENE du {structure.sirene_stock_date:%d/%m/%Y} (établissement créé depuis, non "
            "diffusé dans les fichiers publics, ou SIRET erroné) : à vérifier sur l'avis de situation SIRENE."
        )
    if structure.sirene_state == SireneState.CLOSED:
        return (
            f"Établissement fermé selon le répertoire SIRENE (stock du {structure.sirene_stock_date:%d/%m/%Y}) : "
            "sa date de fermeture, sur l'avis de situation SIRENE, est à rapprocher des dates des factures."
        )
    return ""
