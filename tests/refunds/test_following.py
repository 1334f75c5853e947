"""The farm follows its request (REFUNDS.md §3): status, events, granted amounts, « Répondre au complément »."""

import re
from datetime import timedelta
from decimal import Decimal

import lxml.html
import pytest
import time_machine
from django.utils import timezone

from refunds import workflows
from refunds.forms import RESPONSE_REQUIRED
from refunds.models import RefundEvent, RefundFlag, RefundRequest
from tests.factories import FarmFactory, RefundLineFactory, RefundRequestFactory, UserFactory
from tests.refunds.test_views_filing import OPEN_DAY, line_data, page, url

Status = RefundRequest.Status
Kind = RefundEvent.Kind
INSTRUCTOR_EMAIL = "ines.instruit@douane.gouv.fr"


def tree(response):
    return lxml.html.fromstring(response.content.decode())


def text_of(element) -> str:
    return re.sub(r"\s+", " ", element.text_content()).strip()


def events_shown(response) -> list[str]:
    """The « Fil d'évènements » rows: date, who, what, message."""
    table = tree(response).xpath('//table[starts-with(normalize-space(caption), "Fil d\'évènements")]')
    return [text_of(row) for row in table[0].xpath(".//tbody/tr")] if table else []


@pytest.fixture
def instructor(db):
    return UserFactory(first_name="Inès", last_name="Instruit", email=INSTRUCTOR_EMAIL, is_staff=True)


@pytest.fixture
def sent(draft, farmer):
    """The farm's 2023 request, sent on the pages' open day: one GNR line of 1 000 litres (149,60 €)."""
    RefundLineFactory(request=draft, invoice_number="FA-2023-001")
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    with time_machine.travel(OPEN_DAY):
        return workflows.send(draft.pk, by=farmer)


def instruct(refund, instructor, *steps, status):
    """What the tax office did, written directly: each (kind, message) as an event of the instructor, a day apart."""
    for day, (kind, message) in enumerate(steps, start=1):
        RefundEvent.objects.create(
            request=refund,
            kind=kind,
            actor=instructor,
            actor_label=f"{instructor.get_full_name()} ({instructor.email})",
            at=refund.filed_at + timedelta(days=day),
            message=message,
        )
    RefundRequest.objects.filter(pk=refund.pk).update(status=status)


def grant(refund, *amounts_and_reasons):
    """Each line's granted amount and reason, in order, and the total granted."""
    for line, (amount, reason) in zip(refund.lines.order_by("pk"), amounts_and_reasons, strict=True):
        line.granted_amount, line.reduction_reason = Decimal(amount), reason
        line.save()
    total = sum((Decimal(amount) for amount, _ in amounts_and_reasons), Decimal("0.00"))
    RefundRequest.objects.filter(pk=refund.pk).update(total_granted=total)


TAKEN = (Kind.TAKEN, "")
ASKED = (Kind.INFORMATION_REQUESTED, "Joignez une facture lisible.")


@pytest.mark.parametrize(
    ("status", "steps", "badge", "colour", "last_event"),
    [
        (Status.FILED, [], "Déposée", "fr-badge--info", "Demande déposée"),
        (Status.IN_REVIEW, [TAKEN], "En instruction", "fr-badge--info", "Prise en charge"),
        (Status.INFORMATION_REQUESTED, [TAKEN, ASKED], "Complément demandé", "fr-badge--warning", "Complément demandé"),
        (Status.ACCEPTED, [TAKEN, (Kind.ACCEPTED, "")], "Acceptée", "fr-badge--success", "Demande acceptée"),
        (
            Status.PARTLY_ACCEPTED,
            [TAKEN, (Kind.PARTLY_ACCEPTED, "Une facture est hors période.")],
            "Partiellement acceptée",
            "fr-badge--success",
            "Demande partiellement acceptée",
        ),
        (Status.REJECTED, [TAKEN, (Kind.REJECTED, "Factures illisibles.")], "Rejetée", "fr-badge--error", "rejetée"),
        (
            Status.IN_PAYMENT,
            [TAKEN, (Kind.ACCEPTED, ""), (Kind.IN_PAYMENT, "")],
            "Mise en paiement",
            "fr-badge--info",
            "Mise en paiement",
        ),
        (
            Status.PAID,
            [TAKEN, (Kind.ACCEPTED, ""), (Kind.IN_PAYMENT, ""), (Kind.PAID, "")],
            "Payée",
            "fr-badge--success",
            "Paiement effectué",
        ),
    ],
)
def test_each_status_shows_its_badge_and_its_events_without_the_instructor_s_name(
    sign_in, farmer, sent, instructor, status, steps, badge, colour, last_event
):
    instruct(sent, instructor, *steps, status=status)

    response = sign_in(farmer).get(url("request_detail", sent.pk))

    [shown_badge] = tree(response).xpath("//h1/following::span[contains(@class, 'fr-badge')][1]")
    assert text_of(shown_badge) == badge and colour in shown_badge.get("class")
    events = events_shown(response)
    assert len(events) == 1 + len(steps)
    assert "Demande déposée" in events[0] and "Marie Champ" in events[0]
    assert last_event in events[-1]
    assert all("Cellule remboursement" in event for event in events[1:])
    for message in [message for _, message in steps if message]:
        assert any(message in event for event in events)
    assert INSTRUCTOR_EMAIL not in page(response) and "Instruit" not in page(response)


def test_an_event_of_any_staff_member_reads_cellule_remboursement_even_a_farm_step(sign_in, farmer, sent, staff):
    """Support may have sent a request back in the admin; the farm reads the service, not the person."""
    RefundEvent.objects.create(request=sent, kind=Kind.REFILED, actor=staff, actor_label=f"Sam Support ({staff.email})")

    response = sign_in(farmer).get(url("request_detail", sent.pk))

    assert "Cellule remboursement" in events_shown(response)[-1]
    assert staff.email not in page(response)


def test_an_instructor_s_event_whose_account_is_gone_still_hides_its_author(sign_in, farmer, sent, instructor):
    instruct(sent, instructor, TAKEN, status=Status.IN_REVIEW)
    instructor.delete()

    response = sign_in(farmer).get(url("request_detail", sent.pk))

    assert "Cellule remboursement" in events_shown(response)[-1] and INSTRUCTOR_EMAIL not in page(response)


# The complement.


def test_a_complement_asked_is_shown_with_the_instructor_s_message_and_a_reply_button(
    sign_in, farmer, sent, instructor
):
    instruct(sent, instructor, TAKEN, ASKED, status=Status.INFORMATION_REQUESTED)

    shown = tree(sign_in(farmer).get(url("request_detail", sent.pk)))

    [alert] = shown.xpath("//div[contains(@class, 'fr-alert--warning')]")
    assert text_of(alert).startswith("Complément demandé le") and "Joignez une facture lisible." in text_of(alert)
    [button] = shown.xpath(f"//a[@href='{url('request_send', sent.pk)}']")
    assert text_of(button) == "Répondre au complément"
    assert shown.xpath(f"//a[@href='{url('line_update', sent.pk, sent.lines.get().pk)}']")


@time_machine.travel(OPEN_DAY + timedelta(days=5))
def test_the_farm_changes_a_line_then_answers_and_the_request_is_filed_again_with_its_flags_anew(
    sign_in, farmer, draft, instructor, outbox
):
    other = RefundRequestFactory(structure=FarmFactory(), status=Status.FILED, number="TIC-2023-000999")
    RefundLineFactory(request=other, invoice_number="FA-2023-001")
    RefundLineFactory(request=draft, invoice_number="FA-2023-001")
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    with time_machine.travel(OPEN_DAY):
        sent = workflows.send(draft.pk, by=farmer)
    assert sent.flags.filter(kind=RefundFlag.Kind.INVOICE_ELSEWHERE).exists()
    number, filed_at = sent.number, sent.filed_at
    instruct(sent, instructor, TAKEN, ASKED, status=Status.INFORMATION_REQUESTED)
    client = sign_in(farmer)
    line = sent.lines.get()

    response = client.post(url("line_update", sent.pk, line.pk), line_data(invoice_number="FA-2023-101"))
    assert response.status_code == 302
    confirm = tree(client.get(url("request_send", sent.pk)))
    assert text_of(confirm.xpath("//h1")[0]) == "Répondre au complément"
    assert "Joignez une facture lisible." in text_of(confirm.xpath("//div[contains(@class, 'fr-alert--warning')]")[0])
    assert confirm.xpath("//label[@for='id_message'][contains(., 'Votre réponse')]")
    response = client.post(url("request_send", sent.pk), {"message": "  Facture corrigée : FA-2023-101.  "})

    assert response.status_code == 302 and response["Location"] == url("request_detail", sent.pk)
    sent.refresh_from_db()
    assert sent.status == Status.FILED and (sent.number, sent.filed_at) == (number, filed_at)
    refiled = sent.events.last()
    assert (refiled.kind, refiled.actor, refiled.message) == (Kind.REFILED, farmer, "Facture corrigée : FA-2023-101.")
    assert not sent.flags.filter(kind=RefundFlag.Kind.INVOICE_ELSEWHERE).exists()
    assert [mail.to for mail in outbox() if mail.subject.startswith("Complément envoyé")] == [[farmer.email]]
    shown = client.get(url("request_detail", sent.pk))
    assert "Votre réponse est envoyée" in page(shown)
    last = events_shown(shown)[-1]
    assert "Complément envoyé" in last and "Marie Champ" in last and "Facture corrigée : FA-2023-101." in last


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("", RESPONSE_REQUIRED),
        ("   \n ", RESPONSE_REQUIRED),
        ("x" * 2001, "Votre réponse compte 2001 caractères : raccourcissez-la à 2000."),
    ],
)
def test_an_empty_or_too_long_answer_is_refused_next_to_its_field_and_changes_nothing(
    sign_in, farmer, sent, instructor, outbox, message, error
):
    instruct(sent, instructor, TAKEN, ASKED, status=Status.INFORMATION_REQUESTED)
    mails = len(outbox())

    with time_machine.travel(OPEN_DAY + timedelta(days=5)):
        response = sign_in(farmer).post(url("request_send", sent.pk), {"message": message})

    assert response.status_code == 200
    shown = tree(response)
    [group] = shown.xpath("//div[contains(@class, 'fr-input-group--error')][.//textarea[@name='message']]")
    assert error in text_of(group)
    assert text_of(shown.xpath("//title")[0]).startswith("Erreur")
    sent.refresh_from_db()
    assert sent.status == Status.INFORMATION_REQUESTED
    assert not sent.events.filter(kind=Kind.REFILED).exists() and len(outbox()) == mails


def test_the_first_filing_asks_no_answer(sign_in, farmer, draft):
    RefundLineFactory(request=draft)
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)

    with time_machine.travel(OPEN_DAY):
        confirm = tree(sign_in(farmer).get(url("request_send", draft.pk)))

    assert not confirm.xpath("//textarea") and text_of(confirm.xpath("//h1")[0]) == "Envoyer la demande"


# What is granted.


def test_a_partly_accepted_request_shows_each_line_s_granted_amount_its_reason_and_the_total(
    sign_in, farmer, draft, instructor
):
    RefundLineFactory(request=draft, invoice_number="FA-1")
    RefundLineFactory(request=draft, invoice_number="FA-2")
    RefundRequest.objects.filter(pk=draft.pk).update(not_in_difficulty=True)
    with time_machine.travel(OPEN_DAY):
        refund = workflows.send(draft.pk, by=farmer)
    grant(refund, ("149.60", ""), ("100.00", "Livraison du 15/03 en partie hors exploitation."))
    instruct(refund, instructor, TAKEN, (Kind.PARTLY_ACCEPTED, ""), status=Status.PARTLY_ACCEPTED)

    response = sign_in(farmer).get(url("request_detail", refund.pk))

    shown = tree(response)
    rows = [text_of(row) for row in shown.xpath("//table[starts-with(normalize-space(caption), 'Lignes')]//tbody/tr")]
    assert "149,60 € 149,60 €" in rows[0].replace("\xa0", " ") and "Motif" not in rows[0]
    assert "149,60 € 100,00 €" in rows[1].replace("\xa0", " ")
    assert "Motif de la réduction : Livraison du 15/03 en partie hors exploitation." in rows[1]
    total = text_of(shown.xpath("//table[starts-with(normalize-space(caption), 'Lignes')]//tfoot/tr")[0])
    assert "299,20 € 249,60 €" in total.replace("\xa0", " ")
    assert "Montant accordé : 249,60 € sur 299,20 € demandés." in page(response).replace("\xa0", " ")


def test_no_granted_amount_is_shown_before_the_decision_nor_on_a_rejection(sign_in, farmer, sent, instructor):
    client = sign_in(farmer)
    instruct(sent, instructor, TAKEN, status=Status.IN_REVIEW)
    waiting = client.get(url("request_detail", sent.pk))
    instruct(sent, instructor, (Kind.REJECTED, "Factures illisibles."), status=Status.REJECTED)
    rejected = client.get(url("request_detail", sent.pk))

    assert "En attente de la décision" in page(waiting) and "Montant accordé</th>" not in page(waiting)
    assert "Aucun : la demande est rejetée" in page(rejected) and "Motif : Factures illisibles." in page(rejected)


def test_the_list_shows_the_total_granted_and_the_last_event(sign_in, farmer, sent, instructor):
    grant(sent, ("120.00", "Quantité ramenée à la facture."))
    instruct(sent, instructor, TAKEN, (Kind.PARTLY_ACCEPTED, ""), status=Status.PARTLY_ACCEPTED)

    response = sign_in(farmer).get(url("request_list"))

    [row] = [text_of(row) for row in tree(response).xpath("//tbody/tr")]
    decided = timezone.localtime(sent.filed_at + timedelta(days=2))
    assert "Partiellement acceptée" in row and "149,60 € 120,00 €" in row.replace("\xa0", " ")
    assert f"{decided:%d/%m/%Y} : Demande partiellement acceptée" in row
