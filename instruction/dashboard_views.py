"""« Tableau de bord » (REFUNDS.md §4): the sent requests of the instructor's départements, counted and summed
(`instruction.dashboard`), on the page and as a CSV file."""

from django import forms
from django.http import HttpResponse
from django.shortcuts import render

from instruction import access
from instruction.dashboard import Dashboard, build, years
from refunds.csv_import import spreadsheet_lines

CSV_HEADER = ["Section", "Clé", "Nombre de demandes", "Montant demandé", "Montant accordé", "Quantité", "Unité"]


class YearForm(forms.Form):
    annee = forms.TypedChoiceField(label="Année de la demande", coerce=int, required=False, empty_value=None)

    def __init__(self, data, years: list[int]):
        super().__init__(data)
        self.fields["annee"].choices = [("", "Toutes les années"), *[(year, str(year)) for year in years]]

    @property
    def year(self) -> int | None:
        return self.cleaned_data["annee"] if self.is_valid() else None


def _figures(request) -> tuple[YearForm, Dashboard]:
    requests = access.requests_in(request.departements)
    form = YearForm(request.GET or None, years(requests))
    return form, build(requests, request.departements, form.year)


@access.instructor_required
def dashboard(request):
    """Counts and totals by status, year, département and product; a year may be chosen."""
    form, figures = _figures(request)
    return render(request, "instruction/dashboard.html", {"form": form, "dashboard": figures, "year": form.year})


def _amount(value) -> str:
    """`1234,56`: as the portfolio export writes amounts, for a French spreadsheet."""
    return "" if value is None else f"{value:.2f}".replace(".", ",")


def _csv_rows(figures: Dashboard):
    yield CSV_HEADER
    total = figures.total
    yield ["Total", "Toutes les demandes", total.count, _amount(total.asked), _amount(total.granted), "", ""]
    for section in figures.sections:
        for row in section.rows:
            yield [
                section.title,
                row.key,
                row.count,
                _amount(row.asked),
                _amount(row.granted),
                _amount(row.quantity),
                row.unit,
            ]


@access.instructor_required
def dashboard_export(request):
    """The dashboard as a CSV file: `;`, a byte-order mark and decimal commas, as a French spreadsheet opens it;
    every cell quoted and made safe, so that a product or a label never runs as a formula."""
    form, figures = _figures(request)
    content = "".join(spreadsheet_lines(_csv_rows(figures)))
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    name = f"tableau-de-bord-{form.year}.csv" if form.year else "tableau-de-bord.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response
