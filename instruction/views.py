"""The instructor's pages of the requests (REFUNDS.md §4): the queue, a request, and the decisions on it.

Every page is for instructors only (`access.instructor_required`) and finds the request among those of their
départements (`access.requests_in`): any other answers 404, as if it did not exist. Each decision is one call of
`instruction.workflows` (one transaction, under the request's row lock); a step another instructor took first
(`WrongStatus`) is said on the request's page, with what was done, and nothing is changed.
"""

from collections.abc import Callable

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from chorus import downloads
from chorus.forms import posted
from chorus.paging import page_of
from chorus.templatetags.ui import euros
from instruction import access, workflows
from instruction.access import instructor_required
from instruction.forms import AcceptForm, InformationForm, QueueFilterForm, RejectForm
from refunds.models import INVOICE_MISSING, RefundEvent, RefundLine, RefundRequest
from structures import departements
from structures.models import BankAccount, Membership, Structure

PAGE_SIZE = 50
Status = RefundRequest.Status


def _requests(request):
    return access.requests_in(request.departements).select_related(
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
    visible = access.requests_in(request.departements)
    years = visible.order_by("-year").values_list("year", flat=True).distinct()
    filter_form = QueueFilterForm(request.departements, years, request.GET or None)
    requests = (
        filter_form.filter(visible, request.user)
        .select_related("structure", "assigned_to")
        .prefetch_related(Prefetch("flags", to_attr="flag_list"))  # a list: no manager and queryset a row
        .order_by("filed_at", "pk")
    )
    page = page_of(requests, request.GET.get("page"), PAGE_SIZE)
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
    """A request as the instructor checks it: header, flags, lines and invoices and their changes since filing, the
    bank account filed in full with its RIB as filed and its history, the structure's history and members, the
    events; the actions its status allows."""
    refund = _refund(request, pk)
    structure = refund.structure
    account = refund.bank_account
    filed = _filed_account(refund)
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
            events=_events(refund),
            members=list(members),
            category=categories.get(refund.beneficiary_category, refund.beneficiary_category),
            departement=departements.label(refund.departement) if refund.departement else "",
            filed_account=filed,
            account_gone=account is None,
            iban_changed=account is not None and (account.iban, account.bic) != (refund.bank_iban, refund.bank_bic),
            rib_replaced=account is not None and filed is not None and account.rib.name != filed.rib.name,
            account_history=BankAccount.changes_of(
                structure_id=refund.structure_id, iban=refund.bank_iban, account_id=refund.bank_account_id
            ),
            line_changes=refund.line_changes(),
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
    return downloads.attachment(
        line.invoice, line.invoice_download_name, line.invoice_content_type, missing=INVOICE_MISSING
    )


@instructor_required
def replaced_invoice_download(request, pk, history_id):
    """An invoice the farm replaced answering a complement, as it was before: the line's history names its file,
    kept in storage once the request was sent."""
    refund = _refund(request, pk)
    record = get_object_or_404(RefundLine.history.filter(request_id=refund.pk, history_id=history_id))
    # The history keeps the file's name only: the line it rebuilds opens it from the invoices' storage.
    line = record.instance
    return downloads.attachment(
        line.invoice,
        _replaced_invoice_name(line),
        line.invoice_content_type,
        missing="Aucune facture n'est enregistrée pour cette version de la ligne, ou son fichier est introuvable.",
    )


def _replaced_invoice_name(line: RefundLine) -> str:
    """`facture-FA-2023-0042-remplacee.pdf`: named as the line's invoice, and not mistaken for the current one."""
    extension = RefundLine.EXTENSIONS.get(line.invoice_content_type, "")
    return f"{line.invoice_download_name.removesuffix(extension)}-remplacee{extension}"


@instructor_required
def rib_download(request, pk):
    """The RIB the request was filed with: the file the account had at filing, even if it was replaced or the
    account deleted since (the history keeps the file)."""
    refund = _refund(request, pk)
    filed = _filed_account(refund)
    if filed is None:
        raise Http404("Aucun RIB n'est enregistré pour la coordonnée bancaire de la demande au moment du dépôt.")
    return downloads.attachment(
        filed.rib, filed.rib_download_name, filed.rib_content_type, missing="Le fichier du RIB est introuvable."
    )


def _filed_account(refund: RefundRequest) -> BankAccount | None:
    """The bank account as it was when the request was filed, read from its history, or None."""
    if refund.filed_at is None:
        return None
    return BankAccount.version_at(
        refund.filed_at, structure_id=refund.structure_id, iban=refund.bank_iban, account_id=refund.bank_account_id
    )


def _events(refund: RefundRequest) -> list[RefundEvent]:
    """The « fil d'évènements », each with `who`: the instructor reads every author, as recorded at the time."""
    events = list(refund.events.select_related("actor"))
    for event in events:
        actor = event.actor
        event.who = event.actor_label or (f"{actor.get_full_name()} ({actor.email})" if actor else "–")
    return events
