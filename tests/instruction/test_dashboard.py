"""« Tableau de bord »: counts and totals of the sent requests of my départements, on the page and as CSV."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refunds.models import Product, RefundRequest
from tests.factories import FarmFactory, RefundLineFactory, make_sent_request

Status = RefundRequest.Status
DASHBOARD = "/instruction/tableau-de-bord/"
EXPORT = "/instruction/tableau-de-bord.csv"


def sent(postal_code: str, year: int, status: str, *lines: tuple) -> RefundRequest:
    """A farm's request, sent then brought to `status`; each line (product code, quantity, amount, granted)."""
    refund = make_sent_request(FarmFactory(postal_code=postal_code), year=year, lines=0)
    for code, quantity, amount, granted in lines:
        RefundLineFactory(
            request=refund,
            product=Product.objects.get(code=code),
            quantity=Decimal(quantity),
            amount=Decimal(amount),
            granted_amount=None if granted is None else Decimal(granted),
        )
    asked = sum((Decimal(amount) for _, _, amount, _ in lines), Decimal("0.00"))
    granted = [Decimal(granted) for *_, granted in lines if granted is not None]
    RefundRequest.objects.filter(pk=refund.pk).update(
        status=status, total_asked=asked, total_granted=sum(granted, Decimal("0.00")) if granted else None
    )
    return refund


GNR = ("gnr", "1000", "149.60", None)


@pytest.fixture
def requests(db):
    """Four requests of Ille-et-Vilaine and Morbihan over two years, and two that the dashboard leaves out."""
    return [
        sent("35000", 2023, Status.FILED, GNR, GNR),
        sent(
            "35000",
            2022,
            Status.PARTLY_ACCEPTED,
            ("gnr", "1000", "149.60", "149.60"),
            ("fioul-lourd", "500", "68.80", "60.00"),
        ),
        sent("56100", 2023, Status.REJECTED, ("gnr", "1000", "149.60", "0.00")),
        sent("56100", 2022, Status.PAID, ("gnr", "1000", "149.60", "149.60")),
        # Left out: the Drôme's, and a draft.
        sent("26400", 2023, Status.ACCEPTED, ("gnr", "9000", "1346.40", "1346.40")),
        sent("35000", 2023, Status.DRAFT, ("gnr", "7000", "1047.20", None)),
    ]


@pytest.fixture
def signed_in(sign_in, instructor):
    return sign_in(instructor)


def text(response) -> str:
    """The page, its spaces and line breaks as one space (the no-break spaces of amounts kept)."""
    return re.sub(r"[ \n]+", " ", response.content.decode())


def exported(response) -> dict[tuple[str, str], list[str]]:
    """The CSV's rows by (section, key): [count, asked, granted, quantity, unit]."""
    content = response.content.decode("utf-8")
    assert content.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(content[1:]), delimiter=";"))
    assert rows[0] == [
        "Section",
        "Clé",
        "Nombre de demandes",
        "Montant demandé",
        "Montant accordé",
        "Quantité",
        "Unité",
    ]
    return {(row[0], row[1]): row[2:] for row in rows[1:]}


def test_dashboard_counts_and_sums_my_departements_sent_requests(signed_in, requests):
    response = signed_in.get(DASHBOARD)

    assert response.status_code == 200
    page = text(response)
    assert "4 demandes, 816,80\u00a0€ demandés, 359,20\u00a0€ accordés" in page
    for caption in ("par statut", "par année", "par département", "par produit"):
        assert f"<caption>Demandes {caption}</caption>" in page
    assert "35 – Ille-et-Vilaine" in page and "56 – Morbihan" in page
    assert "Drôme" not in page
    assert "5\u202f000 litres" in page and "500 kg" in page


def test_the_export_has_a_row_per_status_year_departement_and_product(signed_in, requests):
    response = signed_in.get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tableau-de-bord.csv"'
    rows = exported(response)
    assert rows[("Total", "Toutes les demandes")] == ["4", "816,80", "359,20", "", ""]
    assert rows[("Par statut", "Déposée")] == ["1", "299,20", "", "", ""]
    assert rows[("Par statut", "Partiellement acceptée")] == ["1", "218,40", "209,60", "", ""]
    assert rows[("Par statut", "Rejetée")] == ["1", "149,60", "0,00", "", ""]
    assert rows[("Par statut", "Payée")] == ["1", "149,60", "149,60", "", ""]
    assert rows[("Par statut", "Acceptée")] == ["0", "0,00", "", "", ""]
    assert ("Par statut", "Brouillon") not in rows
    assert rows[("Par année", "2023")] == ["2", "448,80", "0,00", "", ""]
    assert rows[("Par année", "2022")] == ["2", "368,00", "359,20", "", ""]
    assert rows[("Par département", "35 – Ille-et-Vilaine")] == ["2", "517,60", "209,60", "", ""]
    assert rows[("Par département", "56 – Morbihan")] == ["2", "299,20", "149,60", "", ""]
    assert rows[("Par produit", "Gazole non routier")] == ["4", "748,00", "299,20", "5000,00", "litres"]
    assert rows[("Par produit", "Fioul lourd")] == ["1", "68,80", "60,00", "500,00", "kg"]
    assert len(rows) == 1 + 8 + 2 + 2 + 2


def test_a_year_may_be_chosen(signed_in, requests):
    page = text(signed_in.get(DASHBOARD, {"annee": "2022"}))

    assert "<h1>Tableau de bord 2022</h1>" in page
    assert "2 demandes, 368,00\u00a0€ demandés, 359,20\u00a0€ accordés" in page
    assert 'href="/instruction/tableau-de-bord.csv?annee=2022"' in page

    response = signed_in.get(EXPORT, {"annee": "2022"})
    assert response["Content-Disposition"] == 'attachment; filename="tableau-de-bord-2022.csv"'
    rows = exported(response)
    assert rows[("Total", "Toutes les demandes")] == ["2", "368,00", "359,20", "", ""]
    assert ("Par année", "2023") not in rows


def test_a_year_without_requests_is_refused_and_every_year_shown(signed_in, requests):
    response = signed_in.get(DASHBOARD, {"annee": "1999"})

    page = text(response)
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in page
    assert "4 demandes, 816,80" in page


def test_the_export_makes_every_cell_inert_for_a_spreadsheet(signed_in, requests):
    Product.objects.create(
        code="piege",
        name='=HYPERLINK("http://x")',
        invoice_unit="@l",
        rate_unit="€/hl",
        invoice_units_per_rate_unit=100,
    )
    sent("35000", 2021, Status.FILED, ("piege", "10", "1.50", None))

    rows = exported(signed_in.get(EXPORT))

    assert rows[("Par produit", '\'=HYPERLINK("http://x")')] == ["1", "1,50", "", "10,00", "'@l"]


def test_another_departements_instructor_sees_only_theirs(sign_in, other_instructor, requests):
    rows = exported(sign_in(other_instructor).get(EXPORT))

    assert rows[("Total", "Toutes les demandes")] == ["1", "1346,40", "1346,40", "", ""]
    assert [key for section, key in rows if section == "Par département"] == ["26 – Drôme"]


def test_an_instructor_without_requests_sees_zeros(signed_in):
    page = text(signed_in.get(DASHBOARD))

    assert "Aucune demande n'a encore été envoyée dans vos départements." in page
    assert "<td>0</td>" in page


@pytest.mark.parametrize("persona", ["farmer", "staff"])
def test_who_is_not_an_instructor_is_refused(request, sign_in, persona):
    client = sign_in(request.getfixturevalue(persona))

    assert client.get(DASHBOARD).status_code == 403
    assert client.get(EXPORT).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(EXPORT)

    assert response.status_code == 302 and response.url.startswith("/compte/")


def test_the_dashboard_reads_as_many_queries_for_30_requests_as_for_3(signed_in, farm):
    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as context:
            assert signed_in.get(url).status_code == 200
        return len(context)

    for n in range(3):
        sent(f"35{n:03d}", 2023, Status.FILED, GNR)
    few = {url: queries(url) for url in (DASHBOARD, EXPORT)}
    for n in range(27):
        sent(f"56{n:03d}", 2020 + n % 4, Status.PAID, ("gpl", "100", "5.72", "5.72"), GNR)

    for url, budget in few.items():
        assert queries(url) <= budget, url
