"""The figures of the instruction's dashboard (REFUNDS.md §4): the sent requests of the instructor's
départements counted and summed by status, year, département and product.

Each table is one GROUP BY query, computed by the database: the page reads a handful of rows whatever the
number of requests. Amounts asked are the requests' totals (the product table: the lines' amounts); amounts
granted count only what was decided (a request not yet decided has none).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from refunds.models import RefundLine, RefundRequest
from structures import departements as departement_names

Status = RefundRequest.Status
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Row:
    """One line of a table: what it counts (`key`), how many requests, the amounts, and for a product its
    quantity in its invoices' unit."""

    key: str
    count: int = 0
    asked: Decimal = ZERO
    granted: Decimal | None = None
    quantity: Decimal | None = None
    unit: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    key_label: str
    rows: list[Row]
    with_quantity: bool = False  # products: their quantities add up; those of different products would not


@dataclass(frozen=True)
class Dashboard:
    total: Row
    sections: list[Section]


def years(requests) -> list[int]:
    """The years the requests are for, latest first: the choices of the year filter."""
    return list(requests.order_by("-year").values_list("year", flat=True).distinct())


def build(requests, departements: list[str], year: int | None = None) -> Dashboard:
    """The dashboard of `requests` (sent ones, already limited to the instructor's `departements`), of one year or
    of all."""
    if year is not None:
        requests = requests.filter(year=year)
    by_status = _grouped(requests, "status")
    by_year = _grouped(requests, "year")
    by_departement = _grouped(requests, "departement")
    status_rows = [_row(label, by_status.get(value)) for value, label in Status.choices if value != Status.DRAFT]
    sections = [
        Section("Par statut", "Statut", status_rows),
        Section("Par année", "Année", [_row(str(key), by_year[key]) for key in sorted(by_year, reverse=True)]),
        Section(
            "Par département",
            "Département",
            [_row(departement_names.label(code), by_departement.get(code)) for code in sorted(departements)],
        ),
        Section("Par produit", "Produit", _by_product(requests), with_quantity=True),
    ]
    total = Row(
        "Total",
        count=sum(row.count for row in status_rows),
        asked=sum((row.asked for row in status_rows), ZERO),
        granted=sum((row.granted for row in status_rows if row.granted is not None), ZERO),
    )
    return Dashboard(total=total, sections=sections)


def _grouped(requests, field: str) -> dict:
    rows = (
        requests.order_by()
        .values(field)
        .annotate(count=Count("pk"), asked=Sum("total_asked"), granted=Sum("total_granted"))
        .values_list(field, "count", "asked", "granted")
    )
    return {key: (count, asked, granted) for key, count, asked, granted in rows}


def _row(key: str, figures: tuple | None) -> Row:
    if figures is None:
        return Row(key)
    count, asked, granted = figures
    return Row(key, count=count, asked=asked or ZERO, granted=granted)


def _by_product(requests) -> list[Row]:
    """Per product, from the lines: the requests that claim it, the quantity, the amounts asked and granted."""
    rows = (
        RefundLine.objects.filter(request__in=requests.values("pk"))
        .order_by("product__position", "product__name", "product")
        .values("product", "product__position", "product__name", "product__invoice_unit")
        .annotate(
            count=Count("request", distinct=True),
            quantity=Sum("quantity"),
            asked=Sum("amount"),
            granted=Sum("granted_amount"),
        )
        .values_list("product__name", "product__invoice_unit", "count", "quantity", "asked", "granted")
    )
    return [
        Row(name, count=count, asked=asked, granted=granted, quantity=quantity, unit=unit)
        for name, unit, count, quantity, asked, granted in rows
    ]
