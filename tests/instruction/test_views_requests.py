"""The instructor's pages of the requests: the queue, a request, its decisions and its files, per persona."""

import html
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from chorus.uploads import CleanFile
from instruction import views, workflows
from refunds import workflows as refund_workflows
from refunds.models import Product, RefundEvent, RefundFlag, RefundRequest
from structures import workflows as structure_workflows
from tests.factories import (
    BankAccountFactory,
    FarmFactory,
    RefundLineFactory,
    RefundRequestFactory,
    UserFactory,
    instructors_group,
    make_sent_request,
)
from twofactor.devices import email_device

Status = RefundRequest.Status
QUEUE = reverse("instruction:queue")
PARIS = ZoneInfo("Europe/Paris")


def text(response) -> str:
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def rows(response) -> list[str]:
    """The queue's body rows, as text."""
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in body.split("</tr>")[:-1]]


def field_block(response, name: str) -> str:
    """The DSFR group of one field: its class, label, widget and error."""
    until_next = r'(?=<div class="fr-input-group|</fieldset>|<ul class="fr-btns-group)'
    found = re.search(
        rf'<div class="fr-input-group[^"]*">\s*<label for="id_{name}".*?{until_next}', response.content.decode(), re.S
    )
    return html.unescape(found.group(0))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def detail(request) -> str:
    return reverse("instruction:request_detail", args=[request.pk])


def urls_of(request) -> dict[str, str]:
    line = request.lines.first()
    return {
        "request_detail": detail(request),
        "request_information": reverse("instruction:request_information", args=[request.pk]),
        "accept": reverse("instruction:accept", args=[request.pk]),
        "reject": reverse("instruction:reject", args=[request.pk]),
        "invoice_download": reverse("instruction:invoice_download", args=[request.pk, line.pk]),
        "rib_download": reverse("instruction:rib_download", args=[request.pk]),
    }


@pytest.fixture
def irene(sign_in, instructor):
    return sign_in(instructor)


@pytest.fixture
def in_review(filed, instructor):
    return workflows.take(filed.pk, by=instructor, departements=["35"])


# Who may open the pages.


def test_anonymous_visitors_are_sent_to_sign_in(client, filed):
    for name, url in {"queue": QUEUE, **urls_of(filed)}.items():
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login")), name
    response = client.post(reverse("instruction:take", args=[filed.pk]))
    assert response["Location"].startswith(reverse("accounts:login"))


def test_staff_who_are_not_instructors_are_refused(sign_in, staff, filed):
    in_group_without_departement = UserFactory(is_staff=True, email="sans.departement@dgfip.test")
    in_group_without_departement.groups.add(instructors_group())
    for user in (staff, in_group_without_departement):
        browser = sign_in(user)
        for name, url in {"queue": QUEUE, **urls_of(filed)}.items():
            assert browser.get(url).status_code == 403, name
        assert browser.post(reverse("instruction:take", args=[filed.pk])).status_code == 403
    filed.refresh_from_db()
    assert filed.status == Status.FILED


def test_a_farmer_is_refused_their_own_request_here(sign_in, farmer, filed):
    assert sign_in(farmer).get(detail(filed)).status_code == 403


def test_an_instructor_of_another_departement_gets_404_everywhere(sign_in, other_instructor, filed):
    browser = sign_in(other_instructor)
    for name, url in urls_of(filed).items():
        assert browser.get(url).status_code == 404, name
    for name in ("take", "request_information", "accept", "reject"):
        assert browser.post(reverse(f"instruction:{name}", args=[filed.pk]), {"reason": "x"}).status_code == 404, name
    assert filed.number not in text(browser.get(QUEUE))
    filed.refresh_from_db()
    assert filed.status == Status.FILED and filed.events.count() == 1


def signed_in_with_the_mailed_code(instructor) -> Client:
    browser = Client()
    browser.force_login(instructor)
    session = browser.session
    session[DEVICE_ID_SESSION_KEY] = email_device(instructor).persistent_id
    session.save()
    return browser


def test_an_instructor_signed_in_with_the_mailed_code_is_told_to_use_the_application(instructor, filed):
    browser = signed_in_with_the_mailed_code(instructor)  # force_login gave staff an application

    response = browser.get(detail(filed))

    assert response.status_code == 403
    page = response.content.decode()
    assert "L'instruction demande une application ou une clé de sécurité" in page
    verify = f"{reverse('twofactor:verify')}?next=%2Finstruction%2Fdemandes%2F{filed.pk}%2F&amp;renforcer=1"
    assert f'href="{verify}">Utiliser une application ou une clé</a>' in page
    assert filed.number not in page


def test_an_instructor_without_an_application_is_told_to_add_one(instructor, filed):
    browser = signed_in_with_the_mailed_code(instructor)
    TOTPDevice.objects.filter(user=instructor).delete()

    page = browser.get(detail(filed)).content.decode()

    assert "Votre compte n'a encore ni application ni clé" in page
    assert "Utiliser une application ou une clé" not in page
    assert f'href="{reverse("twofactor:devices")}">Ajouter une application ou une clé</a>' in page


def test_the_menu_offers_instruction_to_instructors_only(irene, sign_in, farmer, filed):
    page = irene.get(QUEUE).content.decode()
    farm_page = sign_in(farmer).get(reverse("refunds:index")).content.decode()

    assert re.search(r'href="/instruction/" aria-current="page">Instruction</a>', page)
    assert 'href="/instruction/"' not in farm_page


# The queue.


def test_the_queue_lists_my_departements_requests_oldest_first(irene, instructor, colleague, filed, farm):
    morbihan = make_sent_request(FarmFactory(name="GAEC de Vannes", postal_code="56000", pacage="056000001"))
    drome = make_sent_request(FarmFactory(name="EARL de Crest", postal_code="26400"))
    RefundRequest.objects.filter(pk=morbihan.pk).update(filed_at=filed.filed_at.replace(year=2025))
    workflows.take(filed.pk, by=colleague, departements=["35"])
    RefundFlag.objects.create(request=filed, kind=RefundFlag.Kind.FIRST_REQUEST, explanation="Aucune autre demande.")

    response = irene.get(QUEUE)

    assert response.status_code == 200
    shown = text(response)
    assert "<h1>Demandes à instruire</h1>" in shown
    assert drome.number not in shown
    first, second = rows(response)
    assert first.startswith(morbihan.number) and "GAEC de Vannes" in first and "056000001" in first
    assert second.startswith(filed.number)
    assert f"EARL des Peupliers (SIRET {farm.siret})" in second and "035000123" in second and "2023" in second
    assert "299,20" in second and "En instruction" in second and "Paul Martin" in second
    assert "Première demande : Aucune autre demande." in second
    assert 'title="Aucune autre demande."' in shown


def test_the_queue_filters_by_status_year_departement_flag_and_mine(irene, instructor, colleague, filed):
    morbihan = make_sent_request(FarmFactory(postal_code="56000"), year=2022)
    mine = make_sent_request(FarmFactory(postal_code="35000"))
    workflows.take(mine.pk, by=instructor, departements=["35"])
    workflows.take(filed.pk, by=colleague, departements=["35"])
    RefundFlag.objects.create(request=morbihan, kind=RefundFlag.Kind.QUANTITY_JUMP, explanation="Trois fois plus.")

    def numbers(**query):
        response = irene.get(QUEUE, query)
        assert response.status_code == 200
        return [row.split()[0] for row in rows(response)] if "<tbody>" in response.content.decode() else []

    assert numbers() == [filed.number, morbihan.number, mine.number]
    assert numbers(status="filed") == [morbihan.number]
    assert numbers(year="2022") == [morbihan.number]
    assert numbers(departement="56") == [morbihan.number]
    assert numbers(flag="quantity_jump") == [morbihan.number]
    assert numbers(mine="on") == [mine.number]
    assert numbers(status="accepted") == []
    page = text(irene.get(QUEUE, {"status": "accepted"}))
    assert "Aucune demande ne correspond à ces filtres" in page
    assert '<option value="56">56 – Morbihan</option>' in page and '<option value="26"' not in page


def test_the_queue_shows_the_work_to_do_unless_every_status_is_asked(irene, filed):
    decided = make_sent_request(FarmFactory(postal_code="35000"), status=Status.ACCEPTED, year=2022)
    waiting = make_sent_request(FarmFactory(postal_code="35000"), status=Status.INFORMATION_REQUESTED, year=2021)

    def numbers(**query):
        return [row.split()[0] for row in rows(irene.get(QUEUE, query))]

    assert numbers() == [filed.number]
    assert sorted(numbers(status="tous")) == sorted([filed.number, decided.number, waiting.number])
    assert numbers(status="information_requested") == [waiting.number]
    assert '<option value="" selected>À traiter (déposées, en instruction)</option>' in text(irene.get(QUEUE))


def test_a_filter_out_of_the_list_is_an_error_not_a_500(irene, filed):
    response = irene.get(QUEUE, {"departement": "26", "status": "draft", "year": "abc"})

    assert response.status_code == 200
    shown = text(response)
    assert "Choisissez l'un de vos départements." in shown
    assert "Choisissez l'un des statuts de la liste." in shown
    assert filed.number in shown  # the filters in error are left out


def test_the_queue_is_paged(irene, filed, monkeypatch):
    assert views.PAGE_SIZE == 50
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    others = [make_sent_request(FarmFactory(postal_code="35000"), lines=1) for _ in range(2)]

    first = irene.get(QUEUE)
    second = irene.get(QUEUE, {"page": 2})

    assert [row.split()[0] for row in rows(first)] == [filed.number, others[0].number]
    assert [row.split()[0] for row in rows(second)] == [others[1].number]
    assert "page 2 sur 2 (3 au total)" in text(second)


def test_the_queue_reads_a_bounded_number_of_queries(irene, colleague, django_assert_max_num_queries):
    def add(count):
        for _ in range(count):
            request = make_sent_request(FarmFactory(postal_code="35000"), lines=1, assigned_to=colleague)
            RefundFlag.objects.create(request=request, kind=RefundFlag.Kind.FIRST_REQUEST, explanation="Première.")

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert irene.get(QUEUE).status_code == 200
        return len(context)

    add(3)
    with_three = queries()
    add(27)

    with django_assert_max_num_queries(with_three):
        response = irene.get(QUEUE)

    assert len(rows(response)) == 30
    assert with_three <= 15


# A request.


def test_the_request_page_shows_everything_the_instructor_checks(irene, filed, farm, farmer):
    RefundFlag.objects.create(
        request=filed, kind=RefundFlag.Kind.RECENT_BANK_ACCOUNT, explanation="Compte créé le 01/12/2026."
    )

    response = irene.get(detail(filed))

    assert response.status_code == 200
    shown = text(response)
    assert f"<h1>Demande {filed.number}</h1>" in shown
    assert f"par Marie Champ ({farmer.email})" in shown
    assert "35 – Ille-et-Vilaine" in shown and "035000123" in shown
    assert "Coordonnée bancaire récente" in shown and "Compte créé le 01/12/2026." in shown
    assert "FR76 3000 6000 0112 3456 7890 189" in shown and "AGRIFRPPXXX" in shown
    assert reverse("instruction:rib_download", args=[filed.pk]) in shown
    for line in filed.lines.all():
        assert line.invoice_number in shown
        assert reverse("instruction:invoice_download", args=[filed.pk, line.pk]) in shown
    assert "1 000 litres" in shown and "14,96 €/hl" in shown and "299,20 €" in shown
    assert "Historique de la coordonnée bancaire" in shown and ": création" in shown
    assert "Gestionnaire principal" in shown and farmer.email in shown
    assert "Demande déposée" in shown
    assert '<button type="submit" class="fr-btn">Prendre en charge</button>' in shown
    assert reverse("instruction:accept", args=[filed.pk]) not in shown


def test_a_request_in_review_offers_the_three_decisions_and_shows_who_took_it(irene, in_review):
    shown = text(irene.get(detail(in_review)))

    assert "Irène Durand (irene.durand@dgfip.test)" in shown  # the instructor and the event's actor
    assert "Prise en charge" in shown
    for name, label in [
        ("accept", "Accepter"),
        ("request_information", "Demander un complément"),
        ("reject", "Rejeter"),
    ]:
        assert f'href="{reverse(f"instruction:{name}", args=[in_review.pk])}">{label}</a>' in shown
    assert "Prendre en charge</button>" not in shown


def test_an_account_changed_since_filing_is_said_with_its_history(irene, filed, farmer):
    account = filed.bank_account
    account.iban, account._history_user = "FR1420041010050500013M02606", farmer
    account.save()

    shown = text(irene.get(detail(filed)))

    assert "La coordonnée bancaire a changé depuis le dépôt" in shown
    assert "FR76 3000 6000 0112 3456 7890 189" in shown  # the frozen one, paid
    assert "FR14 2004 1010 0505 0001 3M02 606" in shown  # the account's current one
    assert "par Marie Champ" in shown
    assert "<td>IBAN</td><td>FR7630006000011234567890189</td><td>FR1420041010050500013M02606</td>" in shown


def test_an_account_deleted_since_filing_keeps_its_history_and_its_rib_as_filed(irene, filed):
    filed.bank_account.delete()

    response = irene.get(detail(filed))

    shown = text(response)
    assert "La coordonnée bancaire a été supprimée depuis le dépôt" in shown
    assert "FR76 3000 6000 0112 3456 7890 189" in shown
    assert ": suppression" in shown and ": création" in shown
    assert "le RIB du dépôt reste téléchargeable" in shown
    assert reverse("instruction:rib_download", args=[filed.pk]) in shown
    rib = irene.get(reverse("instruction:rib_download", args=[filed.pk]))
    assert rib.status_code == 200
    assert b"".join(rib.streaming_content) == b"%PDF-1.4\n%%EOF\n"


def replace_rib(account, by, content: bytes) -> None:
    """« Modifier » the account with a new RIB file, a day after the filing."""
    rib = CleanFile(ContentFile(content), "application/pdf")
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        structure_workflows.update_bank_account(account, label=account.label, rib=rib, filename="nouveau.pdf", by=by)


def test_the_rib_downloaded_is_the_one_filed_even_once_replaced(irene, filed, farmer):
    replace_rib(filed.bank_account, farmer, b"%PDF-1.4\n% le nouveau RIB\n%%EOF\n")

    response = irene.get(detail(filed))
    rib = irene.get(reverse("instruction:rib_download", args=[filed.pk]))

    shown = text(response)
    assert "La coordonnée bancaire a changé depuis le dépôt" in shown
    assert "Son RIB a été remplacé depuis le dépôt : le RIB téléchargeable ci-dessus reste celui du dépôt." in shown
    assert "Elle porte aujourd'hui l'IBAN" not in shown  # the IBAN and BIC did not change
    assert "<td>RIB</td><td>fichier précédent</td><td>nouveau fichier</td>" in shown and "par Marie Champ" in shown
    assert b"".join(rib.streaming_content) == b"%PDF-1.4\n%%EOF\n"  # as filed, not the new one
    assert rib["X-Content-Type-Options"] == "nosniff" and rib["Cache-Control"] == "private, no-store"


def test_a_rib_replaced_before_filing_downloads_as_it_was_at_filing(irene, farm, farmer):
    replace_rib(farm.bank_accounts.get(), farmer, b"%PDF-1.4\n% le RIB du depot\n%%EOF\n")
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        refund = make_sent_request(farm, filed_by=farmer)

    shown = text(irene.get(detail(refund)))
    rib = irene.get(reverse("instruction:rib_download", args=[refund.pk]))

    assert "a changé depuis le dépôt" not in shown
    assert b"".join(rib.streaming_content) == b"%PDF-1.4\n% le RIB du depot\n%%EOF\n"


def test_a_request_with_no_account_at_filing_has_no_rib_to_download(irene, filed):
    RefundRequest.objects.filter(pk=filed.pk).update(filed_at=timezone.now() - timedelta(days=365))

    shown = text(irene.get(detail(filed)))
    rib = irene.get(reverse("instruction:rib_download", args=[filed.pk]))

    assert "Aucun RIB n'est enregistré pour cette coordonnée bancaire au moment du dépôt." in shown
    assert reverse("instruction:rib_download", args=[filed.pk]) not in shown
    assert rib.status_code == 404


def test_invoices_and_the_rib_download_as_attachments(irene, filed):
    line = filed.lines.first()

    invoice = irene.get(reverse("instruction:invoice_download", args=[filed.pk, line.pk]))
    rib = irene.get(reverse("instruction:rib_download", args=[filed.pk]))

    assert b"".join(invoice.streaming_content) == b"%PDF-1.4\n%%EOF\n"
    assert invoice["Content-Disposition"] == f'attachment; filename="{line.invoice_download_name}"'
    assert invoice["X-Content-Type-Options"] == "nosniff" and invoice["Cache-Control"] == "private, no-store"
    assert b"".join(rib.streaming_content) == b"%PDF-1.4\n%%EOF\n"
    assert (
        rib["Content-Disposition"] == f'attachment; filename="RIB-{filed.structure.siret}-{filed.bank_account_id}.pdf"'
    )


def invoice_line(quantity: str = "1000") -> refund_workflows.LineData:
    return refund_workflows.LineData(
        invoice_number="F-1",
        invoice_date=date(2023, 3, 15),
        supplier="Coopérative du Val",
        product=Product.objects.get(code="gnr"),
        quantity=Decimal(quantity),
    )


def test_the_lines_changed_for_a_complement_are_shown_with_who_when_and_each_field(irene, farm, farmer):
    draft = RefundRequestFactory(structure=farm, year=2023, created_by=farmer, bank_account=farm.bank_accounts.get())
    invoice = refund_workflows.Invoice(CleanFile(ContentFile(b"%PDF-1.4\n%%EOF\n"), "application/pdf"), "mars.pdf")
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)):
        line = refund_workflows.add_line(draft.pk, invoice_line(), invoice=invoice, by=farmer)
        refund_workflows.save_header(
            draft.pk, bank_account=draft.bank_account, not_in_difficulty=True, de_minimis_total=None, by=farmer
        )
        sent = refund_workflows.send(draft.pk, by=farmer)
    before = text(irene.get(detail(sent)))
    RefundRequest.objects.filter(pk=sent.pk).update(status=Status.INFORMATION_REQUESTED)
    with time_machine.travel(datetime(2026, 12, 8, 10, 30, tzinfo=PARIS)):
        refund_workflows.update_line(line.pk, invoice_line(quantity="800"), by=farmer)

    shown = text(irene.get(detail(sent)))

    assert "Lignes modifiées depuis le dépôt" not in before
    words = " ".join(re.sub(r"<[^>]+>", " ", shown).split())
    assert (
        "Lignes modifiées depuis le dépôt Ligne Date Par Avant → après "
        f"Facture F-1 : ligne modifiée 08/12/2026 10:30 Marie Champ ({farmer.email}) "
        "Quantité : 1 000 litres → 800 litres Montant : 149,60 € → 119,68 €"
    ) in words


def test_another_requests_line_is_not_found(irene, filed):
    other = make_sent_request(FarmFactory(postal_code="35000"))

    url = reverse("instruction:invoice_download", args=[filed.pk, other.lines.first().pk])

    assert irene.get(url).status_code == 404


def pdf(content: bytes, filename: str = "mars.pdf") -> refund_workflows.Invoice:
    return refund_workflows.Invoice(CleanFile(ContentFile(content), "application/pdf"), filename)


AS_FILED = b"%PDF-1.4\n% la facture du depot\n%%EOF\n"
NEW_ONE = b"%PDF-1.4\n% la nouvelle facture\n%%EOF\n"


@pytest.fixture
def replaced(farm, farmer):
    """The farm's 2023 request, sent with F-1's invoice, which the farm replaced by another file for a complement."""
    draft = RefundRequestFactory(structure=farm, year=2023, created_by=farmer, bank_account=farm.bank_accounts.get())
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=PARIS)):
        line = refund_workflows.add_line(draft.pk, invoice_line(), invoice=pdf(AS_FILED), by=farmer)
        refund_workflows.save_header(
            draft.pk, bank_account=draft.bank_account, not_in_difficulty=True, de_minimis_total=None, by=farmer
        )
        sent = refund_workflows.send(draft.pk, by=farmer)
    RefundRequest.objects.filter(pk=sent.pk).update(status=Status.INFORMATION_REQUESTED)
    with time_machine.travel(datetime(2026, 12, 8, 10, 30, tzinfo=PARIS)):
        refund_workflows.update_line(line.pk, invoice_line(), invoice=pdf(NEW_ONE), by=farmer)
    return sent


def replaced_invoice_url(refund, history_id) -> str:
    return reverse("instruction:replaced_invoice_download", args=[refund.pk, history_id])


def test_a_replaced_invoice_downloads_as_it_was_filed(irene, replaced):
    [change] = replaced.line_changes()
    url = replaced_invoice_url(replaced, change.replaced_invoice)
    line = replaced.lines.get()

    shown = text(irene.get(detail(replaced)))
    response = irene.get(url)

    assert "Facture : mars.pdf → mars.pdf (nouveau fichier)" in shown
    assert f'<a href="{url}" download>Télécharger la facture remplacée' in shown
    assert '<span class="fr-sr-only"> de la ligne F-1</span>' in shown
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == AS_FILED
    assert response["Content-Disposition"] == 'attachment; filename="facture-F-1-remplacee.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff" and response["Cache-Control"] == "private, no-store"
    current = irene.get(reverse("instruction:invoice_download", args=[replaced.pk, line.pk]))
    assert b"".join(current.streaming_content) == NEW_ONE


def test_a_line_changed_without_a_new_invoice_offers_no_replaced_one(irene, replaced, farmer):
    line = replaced.lines.get()
    with time_machine.travel(datetime(2026, 12, 9, 10, 0, tzinfo=PARIS)):
        refund_workflows.update_line(line.pk, invoice_line(quantity="800"), by=farmer)

    shown = text(irene.get(detail(replaced)))

    assert shown.count("Télécharger la facture remplacée") == 1  # the earlier change's, not this one


def test_an_instructor_of_another_departement_cannot_download_a_replaced_invoice(sign_in, other_instructor, replaced):
    [change] = replaced.line_changes()

    response = sign_in(other_instructor).get(replaced_invoice_url(replaced, change.replaced_invoice))

    assert response.status_code == 404


def test_a_version_of_another_requests_line_is_not_found(irene, replaced):
    other = make_sent_request(FarmFactory(postal_code="35000"))
    other_version = other.lines.first().history.earliest()

    assert irene.get(replaced_invoice_url(other, other_version.history_id)).status_code == 200
    assert irene.get(replaced_invoice_url(replaced, other_version.history_id)).status_code == 404


def test_a_version_of_a_line_without_an_invoice_is_not_found(irene, replaced):
    without = RefundLineFactory(request=replaced, invoice="", invoice_filename="", invoice_content_type="")

    assert irene.get(replaced_invoice_url(replaced, without.history.earliest().history_id)).status_code == 404


def account_history(response) -> str:
    return text(response).split("Historique de la coordonnée bancaire")[1].split('<h2 id="structure"')[0]


def test_an_older_deleted_account_of_the_same_iban_is_not_in_the_filed_account_s_history(irene, farm, farmer):
    with time_machine.travel(datetime(2026, 11, 2, 9, 0, tzinfo=PARIS)):
        old = BankAccountFactory(
            structure=farm, label="Ancien compte", iban="FR1420041010050500013M02606", is_default=False
        )
    with time_machine.travel(datetime(2026, 11, 3, 9, 0, tzinfo=PARIS)):
        old.delete()
    with time_machine.travel(datetime(2026, 11, 4, 9, 0, tzinfo=PARIS)):
        farm.bank_accounts.update(is_default=False)
        account = BankAccountFactory(structure=farm, label="Nouveau compte", iban="FR1420041010050500013M02606")
        refund = make_sent_request(farm, filed_by=farmer)
    assert refund.bank_account == account

    history = account_history(irene.get(detail(refund)))

    assert "04/11/2026" in history and ": création" in history
    assert "02/11/2026" not in history and "03/11/2026" not in history and ": suppression" not in history


# Decisions.


def test_taking_a_request_says_so_and_shows_it_in_review(irene, filed):
    response = irene.post(reverse("instruction:take", args=[filed.pk]), follow=True)

    assert response.redirect_chain == [(detail(filed), 302)]
    assert messages_of(response) == [
        f"Vous avez pris en charge la demande {filed.number} : elle est « En instruction »."
    ]
    filed.refresh_from_db()
    assert filed.status == Status.IN_REVIEW


def test_taking_is_a_post(irene, filed):
    assert irene.get(reverse("instruction:take", args=[filed.pk])).status_code == 405


def test_a_second_instructor_taking_is_told_who_took_it_first(sign_in, colleague, in_review):
    response = sign_in(colleague).post(reverse("instruction:take", args=[in_review.pk]), follow=True)

    (message,) = messages_of(response)
    assert "« Prendre en charge » n'est plus possible" in message and "par Irène Durand" in message
    assert "Rien n'a été changé." in message
    in_review.refresh_from_db()
    assert in_review.assigned_to.last_name == "Durand"
    assert in_review.events.filter(kind=RefundEvent.Kind.TAKEN).count() == 1


def test_asking_a_complement(irene, in_review):
    url = reverse("instruction:request_information", args=[in_review.pk])
    page = irene.get(url)
    blank = irene.post(url, {"message": "  "})
    response = irene.post(url, {"message": "Joignez la facture lisible."}, follow=True)

    assert "Message à la structure" in text(page) and "Demander un complément</button>" in text(page)
    assert "Écrivez le complément que vous demandez à la structure." in field_block(blank, "message")
    assert response.redirect_chain == [(detail(in_review), 302)]
    assert "est « Complément demandé »" in messages_of(response)[0]
    in_review.refresh_from_db()
    assert in_review.status == Status.INFORMATION_REQUESTED


def test_accepting_in_full_from_the_prefilled_page(irene, in_review):
    url = reverse("instruction:accept", args=[in_review.pk])
    page = irene.get(url)
    first, second = in_review.lines.all()

    response = irene.post(url, {f"granted_{first.pk}": "149,60", f"granted_{second.pk}": "149,60"}, follow=True)

    assert "Accepter la demande</button>" in text(page)
    assert f'name="granted_{first.pk}" value="149,60"' in page.content.decode()
    assert "Motif de la réduction" in text(page)
    assert messages_of(response) == [
        f"La demande {in_review.number} est « Acceptée » : 299,20\u00a0€ accordés sur 299,20\u00a0€ demandés. "
        "La structure en est informée par courriel."
    ]
    in_review.refresh_from_db()
    assert in_review.status == Status.ACCEPTED and in_review.total_granted == Decimal("299.20")


def test_accepting_partly_with_a_reason(irene, in_review):
    first, second = in_review.lines.all()

    response = irene.post(
        reverse("instruction:accept", args=[in_review.pk]),
        {f"granted_{first.pk}": "149,60", f"granted_{second.pk}": "1 00,5", f"reason_{second.pk}": "Illisible."},
        follow=True,
    )

    assert "est « Partiellement acceptée » : 250,10\u00a0€ accordés sur 299,20\u00a0€" in messages_of(response)[0]
    shown = text(response)
    assert "100,50 €" in shown and "Motif : Illisible." in shown


def test_a_wrong_acceptance_shows_each_error_next_to_its_field(irene, in_review):
    first, second = in_review.lines.all()
    url = reverse("instruction:accept", args=[in_review.pk])

    response = irene.post(url, {f"granted_{first.pk}": "150,00", f"granted_{second.pk}": "100"})

    assert response.status_code == 200
    above = field_block(response, f"granted_{first.pk}")
    assert "fr-input-group--error" in above and "ne peut pas dépasser le montant demandé (149,60\u00a0€)" in above
    reason = field_block(response, f"reason_{second.pk}")
    assert "fr-input-group--error" in reason and "Indiquez le motif de la réduction" in reason
    assert "fr-input-group--error" not in field_block(response, f"granted_{second.pk}")
    assert "Le formulaire contient 2 erreurs" in text(response)
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW and in_review.total_granted is None


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("100,005", "au centime près"),
        ("-5", "ne peut pas être négatif"),
        ("cent", "Saisissez un nombre en chiffres"),
        ("", "Indiquez le montant accordé, 0 si rien"),
    ],
)
def test_a_mistyped_amount_is_named_on_its_field(irene, in_review, typed, error):
    first, second = in_review.lines.all()

    response = irene.post(
        reverse("instruction:accept", args=[in_review.pk]),
        {f"granted_{first.pk}": "149,60", f"granted_{second.pk}": typed, f"reason_{second.pk}": "Motif"},
    )

    assert error in field_block(response, f"granted_{second.pk}")
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW


def test_granting_nothing_is_refused_at_the_top_of_the_form(irene, in_review):
    first, second = in_review.lines.all()

    response = irene.post(
        reverse("instruction:accept", args=[in_review.pk]),
        {
            f"granted_{first.pk}": "0",
            f"granted_{second.pk}": "0",
            f"reason_{first.pk}": "x",
            f"reason_{second.pk}": "x",
        },
    )

    assert "rejetez la demande, avec son motif, plutôt que l'accepter" in text(response)
    in_review.refresh_from_db()
    assert in_review.status == Status.IN_REVIEW


def test_rejecting(irene, in_review):
    url = reverse("instruction:reject", args=[in_review.pk])
    page = irene.get(url)
    blank = irene.post(url, {"reason": ""})
    response = irene.post(url, {"reason": "Hors du champ agricole."}, follow=True)

    assert "Motif du rejet" in text(page) and "Rejeter la demande</button>" in text(page)
    assert "Indiquez le motif du rejet" in field_block(blank, "reason")
    assert messages_of(response) == [
        f"La demande {in_review.number} est rejetée. La structure en est informée par courriel."
    ]
    in_review.refresh_from_db()
    assert in_review.status == Status.REJECTED


@pytest.mark.parametrize("name", ["request_information", "accept", "reject"])
def test_a_decision_page_of_a_request_not_in_review_leads_back_to_it(irene, filed, name):
    response = irene.get(reverse(f"instruction:{name}", args=[filed.pk]), follow=True)

    assert response.redirect_chain == [(detail(filed), 302)]
    assert f"la demande {filed.number} est « Déposée »" in messages_of(response)[0]


def test_a_decision_posted_after_another_one_changes_nothing(irene, sign_in, colleague, in_review):
    form = irene.get(reverse("instruction:reject", args=[in_review.pk]))
    assert form.status_code == 200
    workflows.request_information(in_review.pk, "Une facture manque.", by=colleague, departements=["35"])

    response = irene.post(reverse("instruction:reject", args=[in_review.pk]), {"reason": "Hors délai."}, follow=True)

    assert response.redirect_chain == [(detail(in_review), 302)]
    (message,) = messages_of(response)
    assert "« Rejeter » n'est plus possible" in message and "par Paul Martin" in message
    in_review.refresh_from_db()
    assert in_review.status == Status.INFORMATION_REQUESTED
    assert not in_review.events.filter(kind=RefundEvent.Kind.REJECTED).exists()
