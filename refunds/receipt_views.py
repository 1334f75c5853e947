"""« Télécharger l'accusé de dépôt »: the PDF receipt of a sent request (`refunds.receipt`)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404

from refunds.models import RefundRequest
from refunds.receipt import download_name, render_receipt


@login_required
def receipt(request, pk):
    """To the structure's members, and to staff allowed to see requests (as RIBs are to staff); a draft has none."""
    requests = RefundRequest.objects.documents_readable_by(request.user)
    refund = get_object_or_404(requests.select_related("structure", "filed_by", "filer_centre"), pk=pk)
    if not refund.number:
        raise Http404("Une demande reçoit son accusé de dépôt quand elle est envoyée.")
    response = HttpResponse(render_receipt(refund), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{download_name(refund)}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
