"""« Paiements » (REFUNDS.md §4): the accepted requests put in payment by batches, each batch's SEPA file, and
« Marquer comme payée ».

Requests come from `access.requests_in(request.departements)`, batches from `access.batches_in(…)`: anything outside the
instructor's départements answers 404. Each POST is one call of `instruction.workflows`, under row locks: a
request or a batch changed since the page was shown is refused with the workflow's message, nothing changed.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from chorus import downloads
from chorus.forms import posted
from chorus.templatetags.ui import euros
from instruction import access, workflows
from instruction.payment_forms import PaymentForm
from refunds.models import PaymentBatch, RefundEvent, RefundRequest

PAGE_SIZE = 50
# The accepted requests listed to tick, those decided first (by their decision's event): a page of checkboxes
# stays readable and its query bounded; the others are counted, and listed once these are in payment.
PAYABLE_SHOWN = 200
_decisions = RefundEvent.objects.filter(kind__in=[RefundEvent.Kind.ACCEPTED, RefundEvent.Kind.PARTLY_ACCEPTED])


@access.instructor_required
def payments(request):
    """The accepted requests not yet in payment, the 200 decided first, to tick and « Mettre en paiement »; below,
    the batches."""
    form = PaymentForm(posted(request)[0])
    if request.method == "POST" and form.is_valid():
        try:
            batch = form.save(by=request.user, departements=request.departements)
        except workflows.NotFound:
            raise Http404("Une des demandes cochées n'est pas une demande de vos départements.") from None
        except workflows.WrongStatus as refused:
            messages.error(request, refused.message)
            return redirect("instruction:payments")
        if batch is not None:
            transfers = f"{batch.transfer_count} virement{'s' if batch.transfer_count > 1 else ''}"
            messages.success(request, f"Lot {batch.number} créé : {transfers}, total {euros(batch.control_sum)}.")
            return redirect("instruction:batch_detail", pk=batch.pk)
    payable = access.requests_in(request.departements).filter(
        status__in=RefundRequest.PAYABLE, payment_batch__isnull=True
    )
    waiting = payable.count()
    shown = list(
        payable.annotate(decided_at=Subquery(_decisions.filter(request=OuterRef("pk")).values("at")[:1]))
        .select_related("structure")
        .order_by("decided_at", "pk")[:PAYABLE_SHOWN]
    )
    batches = access.batches_in(request.departements).select_related("created_by")
    return render(
        request,
        "instruction/payments.html",
        {
            "form": form,
            "payable": shown,
            "waiting": waiting,
            "more": waiting - len(shown),
            "selected": set(form.cleaned_data["requests"]) if form.is_bound and form.is_valid() else set(),
            "page": Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page")),
        },
    )


def _batch(request, pk) -> PaymentBatch:
    return get_object_or_404(access.batches_in(request.departements).select_related("created_by", "paid_by"), pk=pk)


@access.instructor_required
def batch_detail(request, pk):
    """A batch: its figures, the paying account, each transfer to the account frozen at filing, its file."""
    batch = _batch(request, pk)
    transfers = batch.requests.select_related("structure").order_by("number")
    return render(
        request,
        "instruction/batch_detail.html",
        {
            "batch": batch,
            "transfers": transfers,
            "debtor_name": settings.PAYMENT_DEBTOR_NAME,
            "debtor_iban": settings.PAYMENT_DEBTOR_IBAN,
            "debtor_bic": settings.PAYMENT_DEBTOR_BIC,
        },
    )


@access.instructor_required
def batch_download(request, pk):
    """The batch's SEPA file as it was built and sent to the bank, as an attachment."""
    batch = _batch(request, pk)
    return downloads.attachment(
        batch.file, batch.download_name, "application/xml", missing="Le fichier de virements de ce lot est introuvable."
    )


@access.instructor_required
@require_POST
def mark_paid(request, pk):
    """« Marquer comme payée »: the bank has executed the batch; its requests become « Payée »."""
    try:
        batch = workflows.mark_paid(pk, by=request.user, departements=request.departements)
    except workflows.NotFound:
        raise Http404("Aucun lot de virements de vos départements ne porte ce numéro.") from None
    except workflows.WrongStatus as refused:
        messages.error(request, refused.message)
    else:
        count = batch.transfer_count
        messages.success(
            request,
            f"Lot {batch.number} marqué comme payé : {count} demande{'s' if count > 1 else ''} "
            f"« {RefundRequest.Status.PAID.label} ».",
        )
    return redirect("instruction:batch_detail", pk=pk)
