"""« Paiements »: accepted requests put in payment by one batch and its SEPA file, then the batch marked paid."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from instruction import payment_views, sepa, workflows
from refunds.models import PaymentBatch, RefundEvent, RefundRequest
from structures.models import Membership, Structure
from tests.accounts.test_races import run_together
from tests.factories import BankAccountFactory, FarmFactory, MembershipFactory, make_sent_request

Status = RefundRequest.Status
PAYMENTS = "/instruction/paiements/"
IBAN_B, BIC_B = "FR1420041010050500013M02606", "PSSTFRPPXXX"


def accept(refund: RefundRequest, instructor, *, reduce_first_to: str | None = None) -> RefundRequest:
    """« Prendre en charge » then « Accepter », every line in full, or the first reduced to `reduce_first_to`."""
    departements = [refund.departement]
    workflows.take(refund.pk, by=instructor, departements=departements)
    decisions = {line.pk: workflows.LineDecision(line.amount) for line in refund.lines.all()}
    if reduce_first_to is not None:
        first = refund.lines.first()
        decisions[first.pk] = workflows.LineDecision(Decimal(reduce_first_to), "Facture en partie illisible")
    return workflows.accept(refund.pk, decisions, by=instructor, departements=departements)


@pytest.fixture
def accepted(filed, instructor):
    """The farm's 2023 request (Ille-et-Vilaine), accepted in full: 299,20 €."""
    return accept(filed, instructor)


@pytest.fixture
def morbihan_farmer(db):
    return MembershipFactory(
        structure__name="GAEC des Landes", role=Membership.Role.MAIN_MANAGER, user__first_name="Loïc"
    ).user


@pytest.fixture
def partly_accepted(instructor, morbihan_farmer):
    """A Morbihan farm's request, filed with its account at another bank, partly accepted: 249,60 €."""
    farm = morbihan_farmer.memberships.get().structure
    farm.postal_code, farm.pacage = "56100", "056000321"
    farm.beneficiary_category = Structure.BeneficiaryCategory.INDIVIDUAL_FARMER
    farm.save()
    BankAccountFactory(structure=farm, label="Compte agricole", iban=IBAN_B, bic=BIC_B)
    return accept(make_sent_request(farm, filed_by=morbihan_farmer), instructor, reduce_first_to="100.00")


@pytest.fixture
def drome_accepted(other_instructor):
    """An accepted request of the Drôme, which Irène does not instruct."""
    farm = FarmFactory(name="EARL du Diois", postal_code="26150")
    return accept(make_sent_request(farm), other_instructor)


@pytest.fixture
def new_mails(outbox):
    """The mails sent since the last call (taking and accepting mail the farm too)."""

    def read():
        sent = outbox()
        mail.outbox.clear()
        return sent

    return read


@pytest.fixture
def signed_in(sign_in, instructor):
    return sign_in(instructor)


def sent(postal_code: str, status: str) -> RefundRequest:
    """Another farm's request of Ille-et-Vilaine, in `status`."""
    refund = make_sent_request(FarmFactory(postal_code=postal_code))
    RefundRequest.objects.filter(pk=refund.pk).update(status=status)
    refund.refresh_from_db()
    return refund


def put_in_payment(client, *refunds, follow=True):
    return client.post(PAYMENTS, {"requests": [refund.pk for refund in refunds]}, follow=follow)


def text(response) -> str:
    return response.content.decode()


def test_payments_lists_the_accepted_requests_not_yet_in_payment(
    signed_in, accepted, partly_accepted, drome_accepted, farm
):
    taken = sent("35200", Status.IN_REVIEW)

    response = signed_in.get(PAYMENTS)

    page = text(response)
    assert response.status_code == 200
    assert accepted.number in page and partly_accepted.number in page
    assert "299,20" in page and "249,60" in page
    assert "FR76 •••• … 189" in page  # the frozen account, masked
    assert f'name="requests" value="{accepted.pk}"' in page
    assert f"Mettre en paiement la demande {accepted.number} de EARL des Peupliers" in page  # the checkbox's label
    assert drome_accepted.number not in page
    assert taken.number not in page
    assert "Aucun lot de virements" in page


def test_payments_lists_the_requests_accepted_first_and_counts_the_others(
    signed_in, accepted, partly_accepted, instructor, monkeypatch, django_assert_max_num_queries
):
    monkeypatch.setattr(payment_views, "PAYABLE_SHOWN", 2)
    latest = accept(make_sent_request(FarmFactory(postal_code="35200")), instructor)
    # Accepted before the other two, although filed after them.
    latest.events.filter(kind=RefundEvent.Kind.ACCEPTED).update(at=timezone.now() - timedelta(days=3))

    with django_assert_max_num_queries(15):
        response = signed_in.get(PAYMENTS)

    page = " ".join(text(response).split())
    assert latest.number in page and accepted.number in page
    assert partly_accepted.number not in page
    assert "3 demandes acceptées attendent d'être mises en paiement : voici les 2 acceptées le plus tôt." in page
    assert "Une autre demande apparaîtra ici une fois celles-ci mises en paiement." in page
    assert "(les 2 acceptées le plus tôt sur 3)" in page


def test_two_accepted_requests_make_one_batch_and_its_sepa_file(
    signed_in, accepted, partly_accepted, farmer, morbihan_farmer, new_mails
):
    new_mails()  # the mails of taking and accepting, sent before

    response = put_in_payment(signed_in, accepted, partly_accepted)

    batch = PaymentBatch.objects.get()
    assert response.redirect_chain == [(f"/instruction/paiements/lots/{batch.pk}/", 302)]
    page = text(response)
    assert f"Lot {batch.number} créé : 2 virements, total 548,80" in page
    assert batch.number.startswith("VIR-")
    assert (batch.transfer_count, batch.control_sum, batch.status) == (2, Decimal("548.80"), "in_payment")
    # Each transfer on the batch's page, to the account frozen at filing, in groups of four.
    assert "FR76 3000 6000 0112 3456 7890 189" in page and "FR14 2004 1010 0505 0001 3M02 606" in page
    assert reverse("instruction:request_detail", args=[accepted.pk]) in page
    assert "Télécharger le fichier de virements (XML SEPA)" in page
    assert "Marquer comme payée" in page

    for refund in (accepted, partly_accepted):
        refund.refresh_from_db()
        assert (refund.status, refund.payment_batch) == (Status.IN_PAYMENT, batch)
        assert refund.events.filter(kind=RefundEvent.Kind.IN_PAYMENT).count() == 1
    mails = new_mails()
    assert {(m.to[0], m.subject.split(" – ")[0]) for m in mails} == {
        (farmer.email, f"Mise en paiement : {accepted.number}"),
        (morbihan_farmer.email, f"Mise en paiement : {partly_accepted.number}"),
    }
    assert "est mise en paiement" in mails[0].body

    download = signed_in.get(reverse("instruction:batch_download", args=[batch.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/xml"
    assert download["Content-Disposition"] == f'attachment; filename="virements-{batch.number}.xml"'
    assert download["X-Content-Type-Options"] == "nosniff" and download["Cache-Control"] == "private, no-store"
    parsed = sepa.parse(b"".join(download.streaming_content))
    assert (parsed.message_id, parsed.count, parsed.control_sum) == (batch.number, 2, Decimal("548.80"))
    assert sorted((t.iban, t.bic, t.amount, t.remittance) for t in parsed.transfers) == sorted(
        [
            ("FR7630006000011234567890189", "AGRIFRPPXXX", Decimal("299.20"), accepted.number),
            (IBAN_B, BIC_B, Decimal("249.60"), partly_accepted.number),
        ]
    )


def test_the_file_pays_the_iban_frozen_at_filing_even_after_the_account_changed(signed_in, accepted, farm):
    """QUALITY S15: the money goes where the farm said when it filed."""
    account = farm.bank_accounts.get()
    account.iban, account.bic = IBAN_B, BIC_B
    account.save()

    response = put_in_payment(signed_in, accepted)

    batch = PaymentBatch.objects.get()
    with batch.file.open("rb") as xml:
        (transfer,) = sepa.parse(xml.read()).transfers
    assert (transfer.iban, transfer.bic) == ("FR7630006000011234567890189", "AGRIFRPPXXX")
    assert "FR76 3000 6000 0112 3456 7890 189" in text(response)
    assert "FR14 2004" not in text(response)


def test_the_payments_page_lists_the_batches_newest_first(signed_in, accepted, partly_accepted):
    put_in_payment(signed_in, accepted)
    put_in_payment(signed_in, partly_accepted)
    first, second = PaymentBatch.objects.order_by("pk")

    page = text(signed_in.get(PAYMENTS))

    assert page.index(second.number) < page.index(first.number)
    assert "Mis en paiement" in page and "Irène Durand" in page
    assert "Aucune demande acceptée n'attend" in page


@pytest.mark.parametrize("status", [Status.REJECTED, Status.FILED, Status.IN_REVIEW, Status.PAID])
def test_a_request_that_is_not_payable_in_the_selection_creates_nothing(signed_in, accepted, status):
    other = sent("35400", status)

    response = put_in_payment(signed_in, accepted, other)

    assert response.redirect_chain == [(PAYMENTS, 302)]
    page = text(response)
    assert "Seules les demandes acceptées, pas encore mises en paiement, peuvent l" in page
    assert f"{other.number} (« {other.get_status_display()} »)" in page
    assert "Aucun lot n&#x27;a été créé." in page
    assert not PaymentBatch.objects.exists()
    accepted.refresh_from_db()
    assert (accepted.status, accepted.payment_batch) == (Status.ACCEPTED, None)
    assert not RefundEvent.objects.filter(kind=RefundEvent.Kind.IN_PAYMENT).exists()


def test_a_request_already_in_payment_cannot_be_put_in_a_second_batch(signed_in, accepted, partly_accepted):
    put_in_payment(signed_in, accepted)

    response = put_in_payment(signed_in, accepted, partly_accepted)

    assert f"{accepted.number} (« Mise en paiement »)" in text(response)
    assert PaymentBatch.objects.count() == 1
    partly_accepted.refresh_from_db()
    assert partly_accepted.status == Status.PARTLY_ACCEPTED


def test_another_departements_request_or_a_draft_in_the_selection_answers_404(
    signed_in, accepted, drome_accepted, farm
):
    draft = sent("35500", Status.DRAFT)

    for forged in (drome_accepted, draft):
        assert put_in_payment(signed_in, accepted, forged, follow=False).status_code == 404

    assert not PaymentBatch.objects.exists()
    accepted.refresh_from_db()
    assert accepted.status == Status.ACCEPTED


def test_an_empty_selection_is_an_error(signed_in, accepted):
    response = signed_in.post(PAYMENTS, {})

    assert response.status_code == 200
    page = text(response)
    assert "Cochez au moins une demande acceptée à mettre en paiement." in page
    assert "fr-fieldset--error" in page
    assert not PaymentBatch.objects.exists()


@pytest.mark.parametrize("sent", ["1 OR 1=1", "99999999999999999999999", str(2**63), "0", "-3"])
def test_a_selection_that_is_not_ids_is_an_error(signed_in, accepted, sent):
    response = signed_in.post(PAYMENTS, {"requests": [str(accepted.pk), sent]})

    assert response.status_code == 200
    assert "rechargez la page" in text(response)
    assert not PaymentBatch.objects.exists()


def test_a_request_without_frozen_bank_details_holds_the_whole_batch_back(signed_in, accepted, partly_accepted):
    RefundRequest.objects.filter(pk=partly_accepted.pk).update(bank_iban="")

    response = signed_in.post(PAYMENTS, {"requests": [accepted.pk, partly_accepted.pk]})

    assert response.status_code == 200
    assert f"La demande {partly_accepted.number} n&#x27;a pas d&#x27;IBAN enregistré au dépôt." in text(response)
    assert not PaymentBatch.objects.exists()
    assert set(RefundRequest.objects.values_list("status", flat=True)) == {Status.ACCEPTED, Status.PARTLY_ACCEPTED}


@pytest.fixture
def batch(signed_in, accepted, partly_accepted) -> PaymentBatch:
    put_in_payment(signed_in, accepted, partly_accepted)
    return PaymentBatch.objects.get()


def test_marking_the_batch_paid_pays_its_requests(signed_in, batch, accepted, farmer, new_mails):
    new_mails()

    response = signed_in.post(reverse("instruction:mark_paid", args=[batch.pk]), follow=True)

    assert response.redirect_chain == [(f"/instruction/paiements/lots/{batch.pk}/", 302)]
    page = text(response)
    assert f"Lot {batch.number} marqué comme payé : 2 demandes « Payée »." in page
    assert "marqué comme payé le" in page and "par Irène Durand" in page
    assert "Marquer comme payée</button>" not in page
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.PAID and batch.paid_by.email == "irene.durand@dgfip.test"
    assert set(batch.requests.values_list("status", flat=True)) == {Status.PAID}
    assert RefundEvent.objects.filter(kind=RefundEvent.Kind.PAID).count() == 2
    mails = new_mails()
    assert len(mails) == 2
    assert f"Paiement effectué : {accepted.number}" in {m.subject.split(" – ")[0] for m in mails}
    assert "est payé" in next(m for m in mails if m.to == [farmer.email]).body


def test_marking_a_batch_paid_twice_says_it_already_was(signed_in, batch, new_mails):
    signed_in.post(reverse("instruction:mark_paid", args=[batch.pk]))
    new_mails()
    batch.refresh_from_db()
    paid_at = batch.paid_at

    response = signed_in.post(reverse("instruction:mark_paid", args=[batch.pk]), follow=True)

    page = text(response)
    assert f"Le lot {batch.number} a déjà été marqué comme payé le" in page and "par Irène Durand" in page
    batch.refresh_from_db()
    assert (batch.paid_at, batch.paid_by.first_name) == (paid_at, "Irène")
    assert RefundEvent.objects.filter(kind=RefundEvent.Kind.PAID).count() == 2
    assert new_mails() == []


def test_mark_paid_is_a_post(signed_in, batch):
    assert signed_in.get(reverse("instruction:mark_paid", args=[batch.pk])).status_code == 405


def test_another_departements_instructor_cannot_see_download_or_mark_a_batch(sign_in, other_instructor, batch):
    client = sign_in(other_instructor)

    assert batch.number not in text(client.get(PAYMENTS))
    for name in ("batch_detail", "batch_download"):
        assert client.get(reverse(f"instruction:{name}", args=[batch.pk])).status_code == 404
    assert client.post(reverse("instruction:mark_paid", args=[batch.pk])).status_code == 404
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.IN_PAYMENT


def test_a_batch_with_a_request_outside_my_departements_is_not_mine(sign_in, colleague, batch):
    """Paul instructs Ille-et-Vilaine only; the batch also pays a Morbihan request."""
    client = sign_in(colleague)

    assert client.get(reverse("instruction:batch_detail", args=[batch.pk])).status_code == 404
    assert client.post(reverse("instruction:mark_paid", args=[batch.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["farmer", "staff"])
def test_who_is_not_an_instructor_is_refused(request, sign_in, persona, batch):
    client = sign_in(request.getfixturevalue(persona))

    for url in (
        PAYMENTS,
        reverse("instruction:batch_detail", args=[batch.pk]),
        reverse("instruction:batch_download", args=[batch.pk]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(PAYMENTS, {"requests": [batch.requests.first().pk]}).status_code == 403
    assert client.post(reverse("instruction:mark_paid", args=[batch.pk])).status_code == 403
    assert PaymentBatch.objects.count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client, batch):
    for url in (PAYMENTS, reverse("instruction:batch_detail", args=[batch.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


@pytest.mark.postgres
@pytest.mark.usefixtures("postgresql_only")
def test_two_batches_taking_one_request_at_once_put_it_in_one(accepted, partly_accepted, instructor, colleague):
    def put(pks, by):
        try:
            return workflows.put_in_payment(pks, by=by, departements=["35", "56"])
        except workflows.WrongStatus as refused:
            return refused

    results = run_together(
        lambda: put([accepted.pk, partly_accepted.pk], instructor), lambda: put([accepted.pk], colleague)
    )

    batches = [result for result in results if isinstance(result, PaymentBatch)]
    refused = [result for result in results if isinstance(result, workflows.WrongStatus)]
    assert (len(batches), len(refused)) == (1, 1), results
    assert f"{accepted.number} (« Mise en paiement »)" in refused[0].message
    assert PaymentBatch.objects.count() == 1
    accepted.refresh_from_db()
    assert accepted.payment_batch == batches[0]
    assert accepted.events.filter(kind=RefundEvent.Kind.IN_PAYMENT).count() == 1


def test_every_request_the_page_shows_can_be_ticked_at_once(signed_in, accepted, instructor):
    """The page lists up to PAYABLE_SHOWN requests: a form with all of them ticked is not refused as too big."""
    farms = FarmFactory.create_batch(payment_views.PAYABLE_SHOWN - 1, postal_code="35000")
    others = [accept(make_sent_request(farm), instructor) for farm in farms]

    ticked = [accepted.pk, *(refund.pk for refund in others)]
    # As the browser posts it: the boxes and the page's token (the test client checks no token, but counts it).
    response = signed_in.post(PAYMENTS, {"csrfmiddlewaretoken": "jeton", "requests": ticked}, follow=True)

    batch = PaymentBatch.objects.get()
    assert response.redirect_chain == [(f"/instruction/paiements/lots/{batch.pk}/", 302)]
    assert batch.transfer_count == payment_views.PAYABLE_SHOWN
