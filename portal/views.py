from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import render

from approvals.summary import ManagerSummary
from instruction import access
from portal.checklist import home_for, portfolio_rows, works_for_a_centre
from refunds.csv_import import spreadsheet_lines


def home(request):
    """The landing page for visitors; the domains and the checklist of the reader's case once signed in."""
    if not request.user.is_authenticated:
        return render(request, "portal/welcome.html", {"nav": "home"})
    home = home_for(request.user, portfolio_page=request.GET.get("page"))
    if home.portfolio is None:
        # Every structure the user manages is on the page, with its waiting requests: the menu needs no query.
        request._manager_summary = ManagerSummary(bool(home.managed), home.waiting)
    return render(request, "portal/home.html", {"nav": "home", "home": home, "instruction": _instruction(request.user)})


def _instruction(user) -> str:
    """The « Instruction » tile's line for an instructor (« 3 demandes à prendre en charge, 1 que vous instruisez »),
    "" for anyone else."""
    work = access.work_of(user)
    if work is None:
        return ""
    to_take, mine = work["to_take"], work["mine"]
    return (
        f"{to_take} demande{'s' if to_take > 1 else ''} à prendre en charge dans vos départements, "
        f"{mine} que vous instruisez"
    )


@login_required
def organisation(request):
    """The « Organisation » domain: structures, and what comes with them."""
    return render(request, "portal/organisation.html", {"nav": "organisation"})


@login_required
def billing(request):
    """The « Facturation » domain: « Remboursement de taxes » and its entries (REFUNDS.md §2)."""
    return render(request, "portal/billing.html", {"nav": "billing"})


@login_required
def portfolio_export(request):
    """A centre's portfolio as a CSV file: every client farm, with its request of each open year (REFUNDS.md §3).

    Streamed, the farms read in chunks; `;` and a byte-order mark, as a French spreadsheet opens it; every cell made
    safe, so that a farm named `=HYPERLINK(…)` is text, never a formula (a spreadsheet runs a quoted formula too).
    Every cell quoted, so that a spreadsheet told to read quoted fields as text (LibreOffice's import option) keeps
    the SIRET's and PACAGE's leading zeros; the page says to import those columns as text (a `="…"` formula would
    keep them in Excel, but it is a formula). Nobody else has a portfolio: 404.
    """
    if not works_for_a_centre(request.user):
        raise Http404
    lines = spreadsheet_lines(portfolio_rows(request.user))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="portefeuille.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def terms(request):
    return render(request, "portal/terms.html", {"terms_version": settings.TERMS_VERSION})


def accessibility(request):
    return render(request, "portal/accessibility.html")
