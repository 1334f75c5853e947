"""The instructor's pages of the requests (REFUNDS.md §4): the queue, a request, and the decisions on it.

Every page is for instructors only (`access.instructor_required`) and finds the request among those of their
départements (`access.requests_for`): any other answers 404, as if it did not exist. Each decision is one call of
`instruction.workflows` (one transaction, under the request's row lock); a step another instructor took first
(`WrongStatus`) is said on the request's page, with what was done, and nothing is changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from chorus.forms import posted
from chorus.templatetags.ui import euros
from instruction import access, workflows
from instruction.access import instructor_required
from instruction.forms import AcceptForm, InformationForm, QueueFilterForm, RejectForm
from refunds.models import RefundRequest
from structures import departements
from structures.models import BankAccount, FieldChange, Membership, Structure

PAGE_SIZE = 50
Status = RefundRequest.Status


def _requests(request):
    return access.requests_for(request.user).select_related(
        "structure", "bank_account", "filed_by", "filer_centre", "assigned_to"
    )


def _refund(request, pk) -> RefundRequest:
    return get_object_or_404(_requests(request), pk=pk)


def _back(refund: RefundRequest):
    return redirect("instruction:request_detail", pk=refund.pk)


def _context(refund: RefundRequest, **extra) -> dict:
    """What every page of one request shows: its title and address (for the breadcrumb too), and its structure."""
    return {
        "nav": "instruction",
        "refund": refund,
        "refund_title": refund.title,
        "refund_url": reverse("instruction:request_detail", args=[refund.pk]),
        "structure": refund.structure,
        **extra,
    }


@instructor_required
def queue(request):
    """« Demandes à instruire »: the sent requests of my départements, oldest filing first, filtered, 50 a page."""
    visible = access.requests_for(request.user)
    years = visible.order_by("-year").values_list("year", flat=True).distinct()
    filter_form = QueueFilterForm(request.departements, years, request.GET or None)
    requests = (
        filter_form.filter(visible, request.user)
        .select_related("structure", "assigned_to")
        .prefetch_related("flags")
        .order_by("filed_at", "pk")
    )
    page = Paginator(requests, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "instruction/queue.html",
        {
            "nav": "instruction",
            "filter_form": filter_form,
            "page": page,
            "filtered": any(request.GET.get(name) for name in filter_form.fields),
        },
    )


@instructor_required
def request_detail(request, pk):
    """A request as the instructor checks it: header, flags, lines and invoices, the bank account in full with its
    RIB and history, the structure's history and members, the events; the actions its status allows."""
    refund = _refund(request, pk)
    structure = refund.structure
    account = refund.bank_account
    categories = dict(Structure.BeneficiaryCategory.choices)
    members = structure.memberships.select_related("user").order_by(
        Membership.ROLE_ORDER, "user__last_name", "user__first_name"
    )
    return render(
        request,
        "instruction/request_detail.html",
        _context(
            refund,
            lines=list(refund.lines.select_related("product")),
            flags=list(refund.flags.all()),
            events=list(refund.events.select_related("actor")),
            members=list(members),
            category=categories.get(refund.beneficiary_category, refund.beneficiary_category),
            departement=departements.label(refund.departement) if refund.departement else "",
            account_gone=account is None,
            account_changed=account is not None and (account.iban, account.bic) != (refund.bank_iban, refund.bank_bic),
            account_history=account_history(refund),
            structure_changes=structure.recent_changes(limit=10),
            shows_granted=refund.total_granted is not None,
        ),
    )


@instructor_required
@require_POST
def take(request, pk):
    """« Prendre en charge »: the request is mine, « En instruction »."""
    refund = _refund(request, pk)
    try:
        workflows.take(refund.pk, by=request.user, departements=request.departements)
    except workflows.NotFound:
        raise Http404 from None
    except workflows.WrongStatus as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, f"Vous avez pris en charge la demande {refund.number} : elle est « En instruction ».")
    return _back(refund)


@instructor_required
def request_information(request, pk):
    """« Demander un complément »: a message to the structure, which may then change its lines and send them back."""
    refund = _refund(request, pk)
    form = InformationForm(refund, posted(request)[0], by=request.user, departements=request.departements)
    return _decision(
        request,
        refund,
        form,
        "instruction/request_information.html",
        "Demander un complément",
        lambda done: (
            f"Le complément est demandé : la demande {done.number} est « Complément demandé ». "
            "La structure en est informée par courriel."
        ),
    )


@instructor_required
def accept(request, pk):
    """« Accepter »: each line in full or reduced, with the reason of a reduction."""
    refund = _refund(request, pk)
    lines = list(refund.lines.select_related("product"))
    form = AcceptForm(refund, lines, posted(request)[0], by=request.user, departements=request.departements)
    return _decision(
        request,
        refund,
        form,
        "instruction/accept.html",
        "Accepter",
        lambda done: (
            f"La demande {done.number} est « {done.get_status_display()} » : "
            f"{euros(done.total_granted)} accordés sur {euros(done.total_asked)} demandés. "
            "La structure en est informée par courriel."
        ),
    )


@instructor_required
def reject(request, pk):
    """« Rejeter »: the reason written to the structure."""
    refund = _refund(request, pk)
    form = RejectForm(refund, posted(request)[0], by=request.user, departements=request.departements)
    return _decision(
        request,
        refund,
        form,
        "instruction/reject.html",
        "Rejeter",
        lambda done: f"La demande {done.number} est rejetée. La structure en est informée par courriel.",
    )


def _decision(request, refund: RefundRequest, form, template: str, step: str, done: Callable[[RefundRequest], str]):
    """A decision's page: shown while the request is « En instruction »; posted, the form's workflow decides."""
    if request.method != "POST" and refund.status != Status.IN_REVIEW:
        messages.error(
            request,
            f"« {step} » n'est possible que pour une demande « En instruction » : la demande {refund.number} est "
            f"« {refund.get_status_display()} ».",
        )
        return _back(refund)
    if request.method == "POST" and form.is_valid():
        try:
            decided = form.save()
        except workflows.NotFound:
            raise Http404 from None
        except workflows.WrongStatus as refused:
            messages.error(request, refused.message)
            return _back(refund)
        if decided is not None:
            messages.success(request, done(decided))
            return _back(decided)
    return render(request, template, _context(refund, form=form))


@instructor_required
def invoice_download(request, pk, line_pk):
    """A line's invoice, as an attachment."""
    refund = _refund(request, pk)
    line = get_object_or_404(refund.lines.all(), pk=line_pk)
    if not line.has_invoice:
        raise Http404("Aucune facture n'est jointe à cette ligne.")
    try:
        invoice = line.invoice.open("rb")
    except FileNotFoundError:
        raise Http404("Le fichier de la facture est introuvable.") from None
    return _attachment(invoice, line.invoice_download_name, line.invoice_content_type)


@instructor_required
def rib_download(request, pk):
    """The RIB of the bank account the request was filed with, while that account exists."""
    refund = _refund(request, pk)
    account = refund.bank_account
    if account is None or not account.rib:
        raise Http404("La coordonnée bancaire de la demande a été supprimée depuis le dépôt.")
    try:
        rib = account.rib.open("rb")
    except FileNotFoundError:
        raise Http404("Le fichier du RIB est introuvable.") from None
    return _attachment(rib, account.rib_download_name, account.rib_content_type)


def _attachment(file, filename: str, content_type: str) -> FileResponse:
    """A private file, downloaded and never shown in the browser nor kept in a shared cache."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@dataclass(frozen=True)
class AccountChange:
    """One row of a bank account's history: created (`+`), changed (`~`, each field before and after), deleted (`-`)."""

    at: datetime
    by: object
    kind: str
    fields: list[FieldChange]


def account_history(refund: RefundRequest) -> list[AccountChange]:
    """The history of the account the request was filed with, newest first, even once deleted: found by its id
    while it exists, and by the structure and the IBAN frozen at filing."""
    history = BankAccount.history
    ids = set()
    if refund.bank_iban:
        ids |= set(history.filter(structure_id=refund.structure_id, iban=refund.bank_iban).values_list("id", flat=True))
    if refund.bank_account_id:
        ids.add(refund.bank_account_id)
    records = history.filter(id__in=ids).select_related("history_user").order_by("history_date", "history_id")
    previous, changes = {}, []
    for record in records:
        before = previous.get(record.id)
        fields = []
        if before is not None and record.history_type == "~":
            delta = record.diff_against(before, excluded_fields=["rib"])
            fields = [
                FieldChange.of(BankAccount._meta.get_field(change.field), change.old, change.new)
                for change in delta.changes
            ]
            if record.rib != before.rib:  # the stored name is random: say that the file changed, not its name
                fields.append(FieldChange("RIB", "fichier précédent", "nouveau fichier"))
        previous[record.id] = record
        if record.history_type == "~" and not fields:
            continue  # saved without a change worth reading
        changes.append(AccountChange(record.history_date, record.history_user, record.history_type, fields))
    return changes[::-1]
