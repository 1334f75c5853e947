"""« Paiements » (REFUNDS.md §4): the accepted requests put in payment by batches, each batch's SEPA file, and
« Marquer comme payée ».

Requests come from `access.requests_for(user)`, batches from `access.batches_for(user)`: anything outside the
instructor's départements answers 404. Each POST is one call of `instruction.workflows`, under row locks: a
request or a batch changed since the page was shown is refused with the workflow's message, nothing changed.
"""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from chorus.forms import posted
from chorus.templatetags.ui import euros
from instruction import access, workflows
from instruction.payment_forms import PaymentForm
from refunds.models import PaymentBatch, RefundRequest

PAGE_SIZE = 50


@access.instructor_required
def payments(request):
    """The accepted requests not yet in payment, to tick and « Mettre en paiement »; below, the batches."""
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
    payable = (
        access.requests_for(request.user)
        .filter(status__in=RefundRequest.PAYABLE, payment_batch__isnull=True)
        .select_related("structure")
        .order_by("filed_at", "pk")
    )
    batches = access.batches_for(request.user).select_related("created_by")
    return render(
        request,
        "instruction/payments.html",
        {
            "form": form,
            "payable": payable,
            "selected": set(form.cleaned_data["requests"]) if form.is_bound and form.is_valid() else set(),
            "page": Paginator(batches, PAGE_SIZE).get_page(request.GET.get("page")),
        },
    )


def _batch(request, pk) -> PaymentBatch:
    return get_object_or_404(access.batches_for(request.user).select_related("created_by", "paid_by"), pk=pk)


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
    try:
        xml = batch.file.open("rb")
    except (FileNotFoundError, ValueError):  # ValueError: no file recorded
        raise Http404("Le fichier de virements de ce lot est introuvable.") from None
    response = FileResponse(xml, as_attachment=True, filename=batch.download_name, content_type="application/xml")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


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
