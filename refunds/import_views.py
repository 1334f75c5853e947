"""« Importer des lignes de demande » from a CSV file, and the file to start from (`refunds.csv_import`)."""

import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from chorus.forms import posted
from refunds import workflows
from refunds.csv_import import LinesImportForm, template_csv
from refunds.models import Campaign, Product, RefundRequest

NOT_EDITABLE = "Cette demande a été envoyée : ses lignes ne peuvent plus être modifiées."
# The page lists this many of the file's errors, then says how many more there are.
ERRORS_SHOWN = 200
# `?annee=` of the template: four ASCII digits (int() would also take « ٢٠٢٣ », « 2_023 » or « +2023 »).
YEAR = re.compile(r"[0-9]{4}")


@login_required
def lines_import(request, pk):
    """The file is checked row by row; every row is imported, or none, and the page lists what to fix."""
    refund = get_object_or_404(RefundRequest.objects.visible_to(request.user).select_related("structure"), pk=pk)
    if not refund.is_editable:
        messages.error(request, NOT_EDITABLE)
        return redirect(refund)
    form = LinesImportForm(refund, *posted(request), max_lines=settings.REFUND_IMPORT_MAX_LINES)
    if form.is_bound and form.is_valid():
        try:
            lines = workflows.import_lines(refund.pk, form.rows, by=request.user)
        except workflows.NotEditable:
            messages.error(request, NOT_EDITABLE)
            return redirect(refund)
        except (workflows.InvoiceNumberTaken, workflows.RateMissing):
            # Another tab added one of these invoices, or staff removed a rate, since the file was checked.
            form.add_error("file", "La demande a changé pendant l'import : importez de nouveau le fichier.")
        else:
            count = len(lines)
            messages.success(
                request,
                f"{count} ligne{'s' if count > 1 else ''} importée{'s' if count > 1 else ''} : "
                "joignez maintenant la facture de chaque ligne.",
            )
            return redirect(refund)
    rates = workflows.rates_of(refund.year)
    return render(
        request,
        "refunds/lines_import.html",
        {
            "nav": "billing",
            "refund": refund,
            "trail_label": refund.title,
            "form": form,
            "row_errors": form.row_errors[:ERRORS_SHOWN],
            "more_errors": max(len(form.row_errors) - ERRORS_SHOWN, 0),
            "max_lines": settings.REFUND_IMPORT_MAX_LINES,
            "line_count": refund.lines.count(),
            "products": [(product, rates.get(product.pk)) for product in Product.objects.all()],
        },
    )


def example_year(value: str | None) -> int:
    """The year of the template's example row: `?annee=` (the import page gives its request's), when it is a year
    from 2000 to 2100; else the latest year whose filing is open; else last year."""
    if value and YEAR.fullmatch(value) and 2000 <= int(value) <= 2100:
        return int(value)
    latest_open = Campaign.objects.open_now().order_by("-year").values_list("year", flat=True).first()
    return latest_open or timezone.localdate().year - 1


@login_required
def import_template(request):
    """« Télécharger le modèle de fichier »: the header and one example row, of a request of the year asked."""
    year = example_year(request.GET.get("annee"))
    response = HttpResponse(template_csv(year), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="modele-lignes-remboursement.csv"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
