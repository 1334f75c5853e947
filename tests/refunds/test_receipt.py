"""« Accusé de dépôt »: the PDF of a sent request, to its structure's members and to staff allowed to see requests."""

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pikepdf
import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from refunds import workflows
from refunds.models import Product, RefundRequest
from refunds.receipt import receipt_html, render_receipt
from tests.factories import FarmFactory, MembershipFactory, RefundLineFactory, UserFactory

pytestmark = pytest.mark.django_db

FILED_AT = datetime(2024, 3, 15, 9, 42, tzinfo=UTC)  # 10:42 in Paris


@pytest.fixture
def sent(draft, accountant):
    """The draft, with two lines, sent by the management centre's accountant on 15/03/2024 at 10:42 (Paris)."""
    RefundLineFactory(
        request=draft, invoice_number="FA-2023-0042", invoice_date=date(2023, 3, 15), supplier="Coopérative du Val"
    )
    RefundLineFactory(
        request=draft,
        invoice_number="GPL-7",
        invoice_date=date(2023, 11, 2),
        supplier="Butagaz <Ouest> & Cie",
        product=Product.objects.get(code="gpl"),
        quantity=Decimal("1234.50"),
        rate=Decimal("0"),
        amount=Decimal("0"),
    )
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True, de_minimis_total=Decimal("0"))
    with time_machine.travel(FILED_AT, tick=False):
        return workflows.send(draft.pk, by=accountant)


def receipt_url(refund) -> str:
    return reverse("refunds:receipt", args=[refund.pk])


def test_the_receipt_says_what_was_filed_by_whom_and_when(sent):
    html = receipt_html(sent)

    assert '<html lang="fr">' in html
    assert "<title>Accusé de dépôt TIC-2023-" in html
    assert "<h1>Accusé de dépôt</h1>" in html
    assert "République<br>française" in html
    assert sent.number in html
    assert "15/03/2024 à 10:42 (heure de Paris)" in html
    assert "EARL des Peupliers" in html and sent.structure.siret in html
    assert "035000123" in html
    assert "Exploitant agricole à titre individuel" in html
    assert "Claire Compta (" in html and sent.filed_by.email in html
    assert "Centre de gestion du Val" in html
    # Each line, with its frozen rate and amount.
    assert "FA-2023-0042" in html and "15/03/2023" in html and "Coopérative du Val" in html
    assert "1\u202f000</span> litres" in html and "14,96 €/hl" in html and "149,60\u00a0€" in html
    assert "GPL-7" in html and "1\u202f234,5</span> kg" in html and "5,72 €/100 kg" in html and "70,61\u00a0€" in html
    assert "Butagaz &lt;Ouest&gt; &amp; Cie" in html  # escaped, as typed
    assert "Montant total demandé" in html and "220,21\u00a0€" in html
    # The bank account as frozen, IBAN masked.
    assert "Compte courant" in html
    assert "FR76 •••• … 189" in html
    assert "FR7630006000011234567890189" not in html


def test_the_receipt_names_the_service_as_the_portal_s_header_does(sent):
    header = (settings.BASE_DIR / "templates" / "_partials" / "header.html").read_text(encoding="utf-8")
    title = re.search(r'<p class="fr-header__service-title">(.+?)</p>', header)[1]
    tagline = re.search(r'<p class="fr-header__service-tagline">(.+?)</p>', header)[1]

    html = receipt_html(sent)

    assert tagline == "Remboursement de la TIC et de la TICGN pour l'activité agricole"
    assert f'<p class="service"><strong>{title}</strong>{tagline}</p>' in html
    assert "TICPE" not in html and "partiel" not in html


def test_the_receipt_shows_the_frozen_category_and_pacage_not_the_structure_s_current_ones(sent):
    sent.structure.pacage = "035999999"
    sent.structure.beneficiary_category = "cuma"
    sent.structure.save()
    sent.structure.bank_accounts.update(label="Compte renommé")

    html = receipt_html(RefundRequest.objects.get(pk=sent.pk))

    assert "035000123" in html and "035999999" not in html
    assert "Exploitant agricole à titre individuel" in html and "CUMA" not in html
    assert "Compte courant" in html and "Compte renommé" not in html


def test_a_request_sent_back_lists_the_lines_as_sent_not_the_edits_of_a_second_complement(sent, farmer):
    RefundRequest.objects.filter(pk=sent.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)
    with time_machine.travel(datetime(2024, 4, 2, 8, 0, tzinfo=UTC), tick=False):
        workflows.send(sent.pk, by=farmer, message="Facture jointe.")
    RefundRequest.objects.filter(pk=sent.pk).update(status=RefundRequest.Status.INFORMATION_REQUESTED)
    with time_machine.travel(datetime(2024, 4, 9, 8, 0, tzinfo=UTC), tick=False):
        line = workflows.LineData("PAS-ENVOYEE", date(2023, 5, 1), "Coopérative", Product.objects.get(code="gnr"), 10)
        workflows.add_line(sent.pk, line, by=farmer)

    html = receipt_html(RefundRequest.objects.get(pk=sent.pk))

    assert "Complément envoyé le" in html and "02/04/2024 à 10:00" in html
    assert "FA-2023-0042" in html and "GPL-7" in html
    assert "PAS-ENVOYEE" not in html


def test_the_pdf_is_tagged_titled_and_in_french(sent):
    data = render_receipt(sent)

    assert data.startswith(b"%PDF-")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert len(pdf.pages) == 1
        assert str(pdf.Root.Lang) == "fr"
        assert "/StructTreeRoot" in pdf.Root
        assert pdf.Root.MarkInfo.Marked
        assert str(pdf.docinfo["/Title"]) == f"Accusé de dépôt {sent.number}"
        with pdf.open_metadata() as xmp:
            assert xmp.get("pdfuaid:part") == "1"
            assert xmp.get("dc:title") == f"Accusé de dépôt {sent.number}"


def test_the_pdf_is_structured_for_screen_readers(sent):
    with pikepdf.open(io.BytesIO(render_receipt(sent))) as pdf:
        kinds = set()
        nodes = [pdf.Root.StructTreeRoot.K]
        while nodes:
            node = nodes.pop()
            if isinstance(node, pikepdf.Array):
                nodes.extend(node)
            elif isinstance(node, pikepdf.Dictionary) and "/S" in node:
                kinds.add(str(node.S))
                nodes.append(node.get("/K", pikepdf.Array()))

    assert {"/Document", "/H1", "/H2", "/Table", "/THead", "/TH", "/TD", "/P"} <= kinds


def test_the_renderer_fetches_nothing_from_outside(sent, monkeypatch, caplog):
    page = receipt_html(sent).replace(
        "<h1>",
        '<img src="http://127.0.0.1:9/logo.png" alt=""><img src="file:///etc/hostname" alt="">'
        '<link rel="stylesheet" href="https://example.invalid/dsfr.css"><h1>',
    )
    monkeypatch.setattr("refunds.receipt.receipt_html", lambda refund: page)

    data = render_receipt(sent)

    assert data.startswith(b"%PDF-")
    refused = [record.getMessage() for record in caplog.records if "loads nothing from outside" in record.getMessage()]
    assert len(refused) == 3


def test_a_long_request_runs_onto_more_pages(sent):
    for n in range(60):
        RefundLineFactory(request=sent, invoice_number=f"L-{n}")

    with pikepdf.open(io.BytesIO(render_receipt(sent))) as pdf:
        assert len(pdf.pages) >= 2


def test_a_draft_has_no_receipt(draft):
    with pytest.raises(ValueError):
        receipt_html(draft)


# The download.


def test_a_member_downloads_the_receipt(sign_in, sent, farm_user):
    response = sign_in(farm_user).get(receipt_url(sent))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="accuse-de-depot-{sent.number}.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content.startswith(b"%PDF-")


def test_the_filer_s_own_receipt_is_named_for_its_number(sign_in, sent, accountant):
    response = sign_in(accountant).get(receipt_url(sent))

    assert response.status_code == 200
    assert sent.number.startswith("TIC-2023-")
    assert f'filename="accuse-de-depot-{sent.number}.pdf"' in response["Content-Disposition"]


def test_a_draft_s_receipt_is_a_404(sign_in, draft, farmer):
    assert sign_in(farmer).get(receipt_url(draft)).status_code == 404


def test_another_farm_s_member_gets_a_404(sign_in, sent):
    other = MembershipFactory(structure=FarmFactory()).user

    assert sign_in(other).get(receipt_url(sent)).status_code == 404


def test_staff_without_the_permission_get_a_404(sign_in, sent):
    assert sign_in(UserFactory(is_staff=True)).get(receipt_url(sent)).status_code == 404


def test_staff_allowed_to_see_requests_download_any_receipt(sign_in, sent):
    instructor = UserFactory(is_staff=True)
    instructor.user_permissions.add(Permission.objects.get(codename="view_refundrequest"))

    response = sign_in(instructor).get(receipt_url(sent))

    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-")


def test_a_permission_without_staff_status_gives_nothing_more(sign_in, sent):
    user = UserFactory()
    user.user_permissions.add(Permission.objects.get(codename="view_refundrequest"))

    assert sign_in(user).get(receipt_url(sent)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, sent):
    response = client.get(receipt_url(sent))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
