"""Refunds in the admin (REFUNDS §1 and « Who »): staff keep products, rates and campaigns; support finds any
request by its number, SIRET or PACAGE and reads it, lines, invoices and events included; nobody changes one there."""

import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.urls import reverse

from refunds.models import Campaign, Product, ProductClosing, Rate, RefundEvent, RefundRequest
from tests.chorus.test_french_admin import visible_text
from tests.factories import FarmFactory, RefundLineFactory, RefundRequestFactory, UserFactory

MIGRATION = importlib.import_module("refunds.migrations.0003_support_reads_refunds")


@pytest.fixture
def filed(farm, farmer):
    """The farm's 2023 request, sent: a line with its invoice, the filing event."""
    request = RefundRequestFactory(
        structure=farm,
        year=2023,
        status=RefundRequest.Status.FILED,
        number="TIC-2023-000042",
        pacage="035000123",
        bank_account=farm.bank_accounts.get(),
        bank_iban="FR7630006000011234567890189",
        bank_label="Compte courant",
        total_asked=Decimal("149.60"),
        created_by=farmer,
        filed_by=farmer,
    )
    RefundLineFactory(request=request, invoice_number="FA-2023-0042")
    RefundEvent.objects.create(request=request, kind=RefundEvent.Kind.FILED, actor=farmer, actor_label="Marie Champ")
    return request


@pytest.fixture
def other_request(db):
    """Another farm's draft, which no search of the farm's number, SIRET or PACAGE finds."""
    return RefundRequestFactory(structure=FarmFactory(name="GAEC Voisin", pacage="026999999"), year=2023)


@pytest.fixture
def superuser_client(db):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True, email="admin@exemple.fr"))
    return client


def changelist(browser, **query) -> str:
    response = browser.get(reverse("admin:refunds_refundrequest_changelist"), query)
    assert response.status_code == 200
    return visible_text(response)


@pytest.mark.parametrize(
    "search",
    ["TIC-2023-000042", "000042", "SIRET", "SIRET with spaces", "035000123"],
)
def test_support_finds_a_request_by_number_siret_or_pacage(agent, filed, other_request, search):
    siret = filed.structure.siret
    term = {"SIRET": siret, "SIRET with spaces": f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"}.get(
        search, search
    )

    page = changelist(agent, q=term)

    assert "TIC-2023-000042" in page and "GAEC Voisin" not in page


def test_a_draft_is_found_by_its_farms_pacage(agent, filed, other_request):
    page = changelist(agent, q="026999999")

    assert "GAEC Voisin" in page and "Brouillon" in page and "TIC-2023-000042" not in page


def test_the_list_reads_in_short_columns_and_filters_by_status_and_year(agent, filed, other_request):
    filed.filed_at = filed.created_at
    filed.save()

    page = changelist(agent)
    sent = changelist(agent, status="filed")

    for title in ["Numéro", "Structure", "Année", "Statut", "Demandé", "Déposée le"]:
        assert title in page
    assert f"TIC-2023-000042 {filed.structure} 2023 Déposée 149,60 € {filed.filed_at:%d/%m/%Y}" in page
    assert "Par statut" in page and "Par année de la demande" in page
    assert "TIC-2023-000042" in sent and "GAEC Voisin" not in sent


def test_support_reads_a_request_with_its_lines_invoices_and_events(agent, filed):
    response = agent.get(reverse("admin:refunds_refundrequest_change", args=[filed.pk]))

    page = visible_text(response)
    assert response.status_code == 200
    assert "TIC-2023-000042" in page and "FR76 •••• … 189" in page and "FR7630006000011234567890189" not in page
    assert "FA-2023-0042" in page and "Coopérative du Val" in page and "14,96 €/hl" in page
    line = filed.lines.get()
    download = reverse("refunds:invoice_download", args=[filed.pk, line.pk])
    assert f'<a href="{download}">Télécharger (PDF)</a>' in response.text
    assert "Demande déposée" in page and "Marie Champ" in page
    assert 'name="_save"' not in response.text, "nothing to save"


@pytest.mark.parametrize("persona", ["support", "superuser"])
def test_nobody_changes_adds_or_deletes_a_request_in_the_admin(agent, superuser_client, filed, persona):
    browser = agent if persona == "support" else superuser_client
    change = reverse("admin:refunds_refundrequest_change", args=[filed.pk])
    before = list(RefundRequest.objects.values())

    forged = {"status": "accepted", "bank_iban": "FR1420041010050500013M02606", "number": "TIC-2023-999999"}
    assert browser.post(change, forged).status_code == 403
    assert browser.get(reverse("admin:refunds_refundrequest_add")).status_code == 403
    assert (
        browser.post(reverse("admin:refunds_refundrequest_delete", args=[filed.pk]), {"post": "yes"}).status_code == 403
    )
    browser.post(
        reverse("admin:refunds_refundrequest_changelist"),
        {"action": "delete_selected", "_selected_action": [filed.pk], "post": "yes"},
    )

    assert list(RefundRequest.objects.values()) == before
    assert filed.lines.count() == 1 and filed.events.count() == 1


def test_a_superuser_changes_a_rate(superuser_client):
    rate = Rate.objects.get(year=2023, product__code="fioul-lourd")
    url = reverse("admin:refunds_rate_change", args=[rate.pk])

    response = superuser_client.post(url, {"year": 2023, "product": rate.product_id, "amount": "13.765"})

    assert response.status_code == 302
    rate.refresh_from_db()
    assert rate.amount == Decimal("13.765")


def test_staff_given_the_permissions_add_a_years_rates(db):
    keeper = UserFactory(is_staff=True)
    keeper.user_permissions.set(Permission.objects.filter(codename__in=["view_rate", "add_rate", "change_rate"]))
    browser = Client()
    browser.force_login(keeper)
    gnr = Product.objects.get(code="gnr")

    response = browser.post(reverse("admin:refunds_rate_add"), {"year": 2024, "product": gnr.pk, "amount": "14.96"})

    assert response.status_code == 302
    assert Rate.objects.get(year=2024, product=gnr).amount == Decimal("14.96")


def test_a_second_rate_for_a_year_and_product_is_a_form_error(superuser_client):
    gnr = Product.objects.get(code="gnr")

    response = superuser_client.post(
        reverse("admin:refunds_rate_add"), {"year": 2023, "product": gnr.pk, "amount": "1"}
    )

    assert response.status_code == 200
    assert Rate.objects.filter(year=2023, product=gnr).count() == 1


def test_the_rate_list_filters_by_year_and_product_and_searches_product_names(superuser_client):
    url = reverse("admin:refunds_rate_changelist")
    gpl = Product.objects.get(code="gpl")

    by_year = visible_text(superuser_client.get(url, {"year": 2019}))
    by_product = visible_text(superuser_client.get(url, {"product__id__exact": gpl.pk}))
    by_name = visible_text(superuser_client.get(url, {"q": "fioul"}))

    assert "8,331 €/MWh" in by_year and "7,83 €/MWh" not in by_year
    assert by_product.count("5,72 €/100 kg") == 4 and "14,96 €/hl" not in by_product
    assert "13,765 €/100 kg" in by_name and "14,96 €/hl" not in by_name


def test_a_superuser_closes_a_product_earlier_on_a_campaigns_page(superuser_client):
    campaign = Campaign.objects.get(year=2023)
    gpl = Product.objects.get(code="gpl")
    data = {
        "year": 2023,
        "opens_on": "01/01/2024",
        "closes_on": "31/12/2026",
        "de_minimis_ceiling": "20000.00",
        "product_closings-TOTAL_FORMS": "1",
        "product_closings-INITIAL_FORMS": "0",
        "product_closings-0-product": gpl.pk,
        "product_closings-0-closes_on": "30/06/2026",
    }

    response = superuser_client.post(reverse("admin:refunds_campaign_change", args=[campaign.pk]), data)

    assert response.status_code == 302, visible_text(response)[-2000:]
    assert ProductClosing.objects.get(campaign=campaign).product == gpl


def test_support_reads_the_reference_data_and_changes_none(agent):
    rate = Rate.objects.get(year=2023, product__code="gnr")

    assert agent.get(reverse("admin:refunds_rate_changelist")).status_code == 200
    assert agent.get(reverse("admin:refunds_campaign_changelist")).status_code == 200
    assert agent.get(reverse("admin:refunds_product_changelist")).status_code == 200
    response = agent.post(
        reverse("admin:refunds_rate_change", args=[rate.pk]), {"year": 2023, "product": rate.product_id, "amount": "1"}
    )
    assert response.status_code == 403
    rate.refresh_from_db()
    assert rate.amount == Decimal("14.96")


def test_the_support_groups_permissions_are_added_once_and_only_to_an_existing_group(support_group):
    editor = SimpleNamespace(connection=connection)
    wanted = {f"refunds.{codename}" for codename in MIGRATION.PERMISSIONS}

    MIGRATION.grant(apps, editor)
    MIGRATION.grant(apps, editor)

    granted = {f"{p.content_type.app_label}.{p.codename}" for p in support_group.permissions.all()}
    assert wanted <= granted
    assert {p for p in granted if p.startswith("refunds.")} == wanted, "views only"
    support_group.delete()
    MIGRATION.grant(apps, editor)  # no group: nothing to do, no error


def test_support_downloads_an_invoice_from_the_admins_link(agent, filed):
    line = filed.lines.get()

    response = agent.get(reverse("refunds:invoice_download", args=[filed.pk, line.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment")
