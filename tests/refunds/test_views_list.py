"""« Remboursement de taxes » and « Mes demandes de remboursement »: what each member sees, filtered, paged."""

import html
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from refunds import workflows
from refunds.models import RefundEvent, RefundRequest
from structures.models import Membership
from tests.factories import FarmFactory, MembershipFactory, RefundLineFactory, RefundRequestFactory

LIST = reverse("refunds:request_list")


def page(response) -> str:
    return re.sub(r"[ \t\n]+", " ", html.unescape(response.content.decode()))


def rows(response) -> list[str]:
    """The list's body rows, as text."""
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in body.split("</tr>")[:-1]]


def farm_of(user, **fields):
    farm = FarmFactory(**fields)
    MembershipFactory(user=user, structure=farm, role=Membership.Role.USER)
    return farm


def test_the_application_page_offers_filing_and_the_list(sign_in, farmer):
    response = sign_in(farmer).get(reverse("refunds:index"))

    shown = page(response)
    assert "<h1>Remboursement de taxes</h1>" in shown
    assert reverse("refunds:request_start") in shown and "Saisir demande de remboursement TIC" in shown
    assert LIST in shown and "Mes demandes de remboursement" in shown
    assert reverse("portal:billing") in shown  # the breadcrumb: Accueil › Facturation › Remboursement de taxes


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    for name in ["index", "request_start", "request_list"]:
        response = client.get(reverse(f"refunds:{name}"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))


@time_machine.travel(date(2026, 12, 7))
def test_the_list_shows_my_structures_requests_with_status_totals_and_last_event(sign_in, farm, farmer, draft):
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    sent = workflows.send(draft.pk, by=farmer)
    RefundRequest.objects.filter(pk=sent.pk).update(total_granted=Decimal("120.00"))
    other_draft, _ = workflows.start(farm, 2022, by=farmer)
    theirs = RefundRequestFactory(year=2023, structure__name="GAEC des Autres")

    response = sign_in(farmer).get(LIST)

    shown = rows(response)
    assert len(shown) == 2
    assert shown[0].startswith(f"2023 {sent.number} : demande 2023 de EARL des Peupliers")
    assert "Déposée" in shown[0] and "149,60 €" in shown[0] and "120,00 €" in shown[0]
    assert "07/12/2026 : Demande déposée" in shown[0]
    assert shown[1].startswith("2022 Brouillon") and "Brouillon créé" in shown[1]
    assert theirs.structure.name not in page(response)
    assert reverse("refunds:request_detail", args=[other_draft.pk]) in page(response)


def test_the_list_is_sorted_by_year_then_structure(sign_in, farmer, farm):
    zebra = farm_of(farmer, name="Zèbre SCEA")
    abeille = farm_of(farmer, name="Abeille GAEC")
    made = {
        (structure.name, year): RefundRequestFactory(structure=structure, year=year)
        for structure, year in [(zebra, 2022), (abeille, 2022), (zebra, 2023), (farm, 2023), (abeille, 2021)]
    }

    shown = page(sign_in(farmer).get(LIST))

    order = [
        ("EARL des Peupliers", 2023),
        ("Zèbre SCEA", 2023),
        ("Abeille GAEC", 2022),
        ("Zèbre SCEA", 2022),
        ("Abeille GAEC", 2021),
    ]
    positions = [shown.index(f'href="{made[key].get_absolute_url()}"') for key in order]
    assert positions == sorted(positions)


def test_filters_by_structure_year_and_status(sign_in, farmer, farm):
    other = farm_of(farmer, name="GAEC du Moulin")
    RefundRequestFactory(structure=farm, year=2023)
    RefundRequestFactory(structure=farm, year=2022, status=RefundRequest.Status.FILED, number="TIC-2022-000001")
    RefundRequestFactory(structure=other, year=2023, status=RefundRequest.Status.FILED, number="TIC-2023-000002")
    client = sign_in(farmer)

    def years_and_numbers(**query):
        return [" ".join(row.split()[:2]) for row in rows(client.get(LIST, query))]

    assert years_and_numbers(structure=other.pk) == ["2023 TIC-2023-000002"]
    assert years_and_numbers(year=2022) == ["2022 TIC-2022-000001"]
    assert years_and_numbers(status="filed") == ["2023 TIC-2023-000002", "2022 TIC-2022-000001"]
    assert years_and_numbers(structure=farm.pk, status="filed") == ["2022 TIC-2022-000001"]
    assert "Aucune demande ne correspond à ces filtres." in page(client.get(LIST, {"status": "paid"}))


def test_a_forged_filter_is_an_error_not_a_500_and_shows_nothing_of_another_farm(sign_in, farmer, farm):
    theirs = RefundRequestFactory(year=2023, structure__name="GAEC des Autres")
    RefundRequestFactory(structure=farm, year=2023)

    response = sign_in(farmer).get(LIST, {"structure": theirs.structure.pk, "year": "vingt", "status": "volée"})

    assert response.status_code == 200
    shown = page(response)
    assert "Choisissez l'une des structures de la liste." in shown
    assert "Choisissez l'une des années de la liste." in shown
    assert "Choisissez l'un des statuts de la liste." in shown
    assert "GAEC des Autres" not in shown


def test_the_list_is_paged_by_25(sign_in, farmer):
    for _ in range(30):
        RefundRequestFactory(structure=farm_of(farmer), year=2023)
    client = sign_in(farmer)

    first, second = client.get(LIST), client.get(LIST, {"page": 2})

    assert len(rows(first)) == 25 and len(rows(second)) == 5
    assert "page 2 sur 2" in page(second) and "Page précédente" in page(second)
    assert client.get(LIST, {"page": "zéro"}).status_code == 200


def test_without_any_request_the_list_offers_to_file_one(sign_in, farmer):
    shown = page(sign_in(farmer).get(LIST))

    assert "Aucune demande de remboursement" in shown
    assert reverse("refunds:request_start") in shown and "<table" not in shown


@pytest.mark.parametrize("count", [1, 30])
def test_the_list_s_queries_do_not_grow_with_its_rows(sign_in, farmer, count, django_assert_max_num_queries):
    for _ in range(count):
        refund = RefundRequestFactory(structure=farm_of(farmer), year=2023)
        RefundEvent.objects.create(request=refund, kind=RefundEvent.Kind.CREATED, actor_label="Marie Champ")
        RefundEvent.objects.create(
            request=refund, kind=RefundEvent.Kind.FILED, at=timezone.now() + timedelta(minutes=1), actor_label="Marie"
        )
    client = sign_in(farmer)

    with django_assert_max_num_queries(10):
        response = client.get(LIST)

    assert len(rows(response)) == min(count, 25)
    assert page(response).count("Demande déposée") == min(count, 25)


@pytest.mark.parametrize("count", [1, 30])
def test_the_request_page_s_queries_do_not_grow_with_its_lines(
    sign_in, farmer, draft, count, django_assert_max_num_queries
):
    for _ in range(count):
        RefundLineFactory(request=draft)
    client = sign_in(farmer)

    with django_assert_max_num_queries(16):
        response = client.get(reverse("refunds:request_detail", args=[draft.pk]))

    assert response.status_code == 200 and page(response).count("€/hl") == count


@time_machine.travel(date(2026, 12, 7))
def test_a_portfolio_s_saisir_link_preselects_its_farm_and_year(client, accountant, farm):
    other = FarmFactory(name="GAEC des Aulnes")
    MembershipFactory(user=accountant, structure=other)
    client.force_login(accountant)

    page = client.get(reverse("refunds:request_start"), {"structure": other.pk, "year": 2023})
    forged = client.get(reverse("refunds:request_start"), {"structure": FarmFactory().pk, "year": 2019})

    assert page.context["form"].initial == {"structure": other.pk, "year": 2023}
    assert "structure" not in forged.context["form"].initial  # neither someone else's farm nor a closed year
    assert forged.context["form"].initial == {"year": 2023}
