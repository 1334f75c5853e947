"""The instruction's steps on one request: each transition, each refusal (nothing changed), the mails and the audit."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from post_office.models import Email

from audit.models import Action, AuditEvent
from instruction import workflows
from instruction.workflows import LineDecision
from refunds import workflows as filing
from refunds.models import RefundEvent, RefundLine, RefundRequest
from structures.models import Membership
from tests.accounts.test_races import run_together
from tests.factories import MembershipFactory, make_instructor

Status = RefundRequest.Status
Kind = RefundEvent.Kind


@pytest.fixture
def second_manager(farm):
    return MembershipFactory(
        structure=farm, role=Membership.Role.MANAGER, user__first_name="Gaston", user__email="gaston@exemple.fr"
    ).user


@pytest.fixture
def in_review(filed, instructor):
    return workflows.take(filed.pk, by=instructor, departements=["35"])


@pytest.fixture
def mails_since(outbox):
    """The mails delivered since the last call (the first call: since the test began)."""
    seen = []

    def read():
        new = outbox()[len(seen) :]
        seen.extend(new)
        return new

    return read


def full(request) -> dict[int, LineDecision]:
    return {line.pk: LineDecision(line.amount) for line in request.lines.all()}


def snapshot(request) -> tuple:
    """What a refused step must leave as it was: status, totals, granted amounts, events, audit rows, mails."""
    request.refresh_from_db()
    lines = list(RefundLine.objects.filter(request=request).values_list("granted_amount", "reduction_reason"))
    return (
        request.status,
        request.assigned_to_id,
        request.total_granted,
        lines,
        request.events.count(),
        AuditEvent.objects.count(),
        Email.objects.count(),
    )


def test_taking_a_filed_request_puts_it_in_review_assigned_to_me(
    filed, instructor, farmer, second_manager, mails_since
):
    taken = workflows.take(filed.pk, by=instructor, departements=["35", "56"])

    filed.refresh_from_db()
    assert filed.status == Status.IN_REVIEW and filed.assigned_to == instructor
    event = filed.events.get(kind=Kind.TAKEN)
    assert event.actor == instructor and event.actor_label == "Irène Durand (irene.durand@dgfip.test)"
    audit = AuditEvent.objects.get(action=Action.REFUND_TAKEN)
    assert audit.actor == instructor and audit.target == taken.number and audit.structure == filed.structure
    mails = mails_since()
    assert sorted(m.to[0] for m in mails) == sorted([farmer.email, "gaston@exemple.fr"])
    assert all(f"Prise en charge : {filed.number}" in m.subject for m in mails)
    assert all("irene.durand" not in m.body and "Irène" not in m.body for m in mails)
    assert all("irene.durand" not in m.alternatives[0][0] for m in mails)


def test_a_request_of_another_departement_is_not_found(filed, other_instructor, mails_since):
    before = snapshot(filed)

    with pytest.raises(workflows.NotFound):
        workflows.take(filed.pk, by=other_instructor, departements=["26"])

    assert snapshot(filed) == before
    assert mails_since() == []


def test_a_draft_is_not_found(farm, farmer, instructor):
    draft, _ = filing.start(farm, 2024, by=farmer)

    with pytest.raises(workflows.NotFound):
        workflows.take(draft.pk, by=instructor, departements=["35"])


def test_a_second_take_says_who_took_it_and_changes_nothing(in_review, colleague, mails_since):
    mails_since()
    before = snapshot(in_review)

    with pytest.raises(workflows.WrongStatus) as refused:
        workflows.take(in_review.pk, by=colleague, departements=["35"])

    assert "« Prendre en charge » n'est plus possible" in refused.value.message
    assert "« En instruction » depuis « Prise en charge »" in refused.value.message
    assert "par Irène Durand" in refused.value.message and "Rien n'a été changé" in refused.value.message
    assert snapshot(in_review) == before
    in_review.refresh_from_db()
    assert in_review.assigned_to.last_name == "Durand"


@pytest.mark.parametrize("step", ["request_information", "accept", "reject"])
def test_deciding_needs_the_request_in_review(filed, instructor, step, mails_since):
    before = snapshot(filed)
    calls = {
        "request_information": lambda: workflows.request_information(
            filed.pk, "Joignez la facture.", by=instructor, departements=["35"]
        ),
        "accept": lambda: workflows.accept(filed.pk, full(filed), by=instructor, departements=["35"]),
        "reject": lambda: workflows.reject(filed.pk, "Hors délai.", by=instructor, departements=["35"]),
    }

    with pytest.raises(workflows.WrongStatus) as refused:
        calls[step]()

    assert f"la demande {filed.number} est « Déposée »" in refused.value.message
    assert snapshot(filed) == before
    assert mails_since() == []


def test_asking_a_complement_reopens_the_lines_and_mails_the_message(in_review, instructor, farmer, mails_since):
    mails_since()

    workflows.request_information(
        in_review.pk, "  Joignez la facture F-2 lisible.  ", by=instructor, departements=["35"]
    )

    in_review.refresh_from_db()
    assert in_review.status == Status.INFORMATION_REQUESTED and in_review.is_editable
    assert in_review.events.get(kind=Kind.INFORMATION_REQUESTED).message == "Joignez la facture F-2 lisible."
    assert AuditEvent.objects.filter(action=Action.REFUND_INFORMATION_REQUESTED, target=in_review.number).count() == 1
    (mail,) = mails_since()[-1:]
    assert mail.to == [farmer.email] and "Joignez la facture F-2 lisible." in mail.body


@pytest.mark.parametrize(
    ("message", "error"),
    [("   ", "Écrivez le complément"), ("x" * 2001, "2\u00a0000 caractères au plus (2001 saisis)")],
)
def test_a_complement_needs_a_message_of_at_most_2000_characters(in_review, instructor, message, error, mails_since):
    mails_since()
    before = snapshot(in_review)

    with pytest.raises(workflows.DecisionInvalid) as invalid:
        workflows.request_information(in_review.pk, message, by=instructor, departements=["35"])

    assert error in invalid.value.errors["message"]
    assert snapshot(in_review) == before


def test_accepting_every_line_in_full_grants_the_total(in_review, instructor, farmer, second_manager, mails_since):
    mails_since()

    accepted = workflows.accept(in_review.pk, full(in_review), by=instructor, departements=["35"])

    accepted.refresh_from_db()
    assert accepted.status == Status.ACCEPTED
    assert accepted.total_granted == accepted.total_asked == Decimal("299.20")
    assert [(line.granted_amount, line.reduction_reason) for line in accepted.lines.all()] == [
        (Decimal("149.60"), ""),
        (Decimal("149.60"), ""),
    ]
    event = accepted.events.get(kind=Kind.ACCEPTED)
    assert event.message == "Montant accordé : 299,20\u00a0€ sur 299,20\u00a0€ demandés."
    assert AuditEvent.objects.get(action=Action.REFUND_ACCEPTED).details == {"total": "299.20"}
    mails = mails_since()
    assert sorted(m.to[0] for m in mails) == sorted([farmer.email, "gaston@exemple.fr"])
    assert all("Montant accordé : 299,20" in m.body and "irene.durand" not in m.body for m in mails)


def test_accepting_a_line_reduced_with_its_reason_is_a_partial_acceptance(in_review, instructor, mails_since):
    mails_since()
    first, second = in_review.lines.all()
    decisions = {
        first.pk: LineDecision(first.amount),
        second.pk: LineDecision(Decimal("100.00"), " Facture illisible. "),
    }

    workflows.accept(in_review.pk, decisions, by=instructor, departements=["35"])

    in_review.refresh_from_db()
    second.refresh_from_db()
    assert in_review.status == Status.PARTLY_ACCEPTED and in_review.total_granted == Decimal("249.60")
    assert second.granted_amount == Decimal("100.00") and second.reduction_reason == "Facture illisible."
    event = in_review.events.get(kind=Kind.PARTLY_ACCEPTED)
    assert f"Facture « {second.invoice_number} » : 100,00\u00a0€ accordés sur 149,60\u00a0€ – Facture illisible." in (
        event.message
    )
    (mail,) = mails_since()
    assert "partiellement acceptée" in mail.body and "Motif : Facture illisible." in mail.body


def test_a_reason_given_for_a_line_granted_in_full_is_not_kept(in_review, instructor):
    decisions = {line.pk: LineDecision(line.amount, "Rien à redire") for line in in_review.lines.all()}

    workflows.accept(in_review.pk, decisions, by=instructor, departements=["35"])

    assert set(in_review.lines.values_list("reduction_reason", flat=True)) == {""}


@pytest.mark.parametrize(
    ("granted", "reason", "error"),
    [
        (Decimal("149.61"), "", "ne peut pas dépasser le montant demandé (149,60\u00a0€)"),
        (Decimal("1E+30"), "", "ne peut pas dépasser le montant demandé"),
        (Decimal("-1.00"), "Trop", "ne peut pas être négatif"),
        (Decimal("100.00"), "  ", "Indiquez le motif de la réduction"),
        (Decimal("100.005"), "Arrondi", "au centime près"),
        (Decimal("NaN"), "", "s'écrit en chiffres"),
        (Decimal("100.00"), "x" * 2001, "2\u00a0000 caractères au plus"),
    ],
)
def test_a_wrong_line_decision_is_refused_and_nothing_is_saved(
    in_review, instructor, granted, reason, error, mails_since
):
    mails_since()
    first, second = in_review.lines.all()
    before = snapshot(in_review)

    with pytest.raises(workflows.DecisionInvalid) as invalid:
        workflows.accept(
            in_review.pk,
            {first.pk: LineDecision(first.amount), second.pk: LineDecision(granted, reason)},
            by=instructor,
            departements=["35"],
        )

    assert list(invalid.value.errors) == [second.pk]
    assert error in invalid.value.errors[second.pk]
    assert snapshot(in_review) == before
    assert mails_since() == []


def test_every_line_needs_a_decision_and_none_other(in_review, instructor):
    first, second = in_review.lines.all()

    with pytest.raises(workflows.DecisionInvalid) as invalid:
        workflows.accept(
            in_review.pk,
            {first.pk: LineDecision(first.amount), 999_999: LineDecision(Decimal("1.00"))},
            by=instructor,
            departements=["35"],
        )

    assert f"facture « {second.invoice_number} »" in invalid.value.errors[second.pk]
    assert "ne sont pas celles de la demande : [999999]" in invalid.value.errors["lines"]


def test_accepting_nothing_at_all_is_refused_in_favour_of_a_rejection(in_review, instructor, mails_since):
    mails_since()
    before = snapshot(in_review)
    nothing = {line.pk: LineDecision(Decimal("0.00"), "Non éligible") for line in in_review.lines.all()}

    with pytest.raises(workflows.DecisionInvalid) as invalid:
        workflows.accept(in_review.pk, nothing, by=instructor, departements=["35"])

    assert "rejetez la demande" in invalid.value.errors["lines"]
    assert snapshot(in_review) == before


def test_rejecting_grants_nothing_and_writes_the_reason(in_review, instructor, farmer, mails_since):
    mails_since()

    workflows.reject(in_review.pk, "Exploitation hors du champ agricole.", by=instructor, departements=["35"])

    in_review.refresh_from_db()
    assert in_review.status == Status.REJECTED and in_review.total_granted == Decimal("0.00")
    assert set(in_review.lines.values_list("granted_amount", flat=True)) == {Decimal("0.00")}
    assert in_review.events.get(kind=Kind.REJECTED).message == "Exploitation hors du champ agricole."
    assert AuditEvent.objects.filter(action=Action.REFUND_REJECTED).count() == 1
    (mail,) = mails_since()
    assert mail.to == [farmer.email] and "Motif : « Exploitation hors du champ agricole. »" in mail.body


def test_a_rejection_needs_its_reason(in_review, instructor):
    before = snapshot(in_review)

    with pytest.raises(workflows.DecisionInvalid) as invalid:
        workflows.reject(in_review.pk, "", by=instructor, departements=["35"])

    assert "Indiquez le motif du rejet" in invalid.value.errors["reason"]
    assert snapshot(in_review) == before


def test_a_decided_request_cannot_be_decided_again(in_review, instructor, colleague, mails_since):
    workflows.reject(in_review.pk, "Hors délai.", by=instructor, departements=["35"])
    mails_since()
    before = snapshot(in_review)

    with pytest.raises(workflows.WrongStatus) as refused:
        workflows.accept(in_review.pk, full(in_review), by=colleague, departements=["35"])

    assert "« Accepter » n'est plus possible" in refused.value.message
    assert (
        "« Rejetée » depuis « Demande rejetée »" in refused.value.message
        and "par Irène Durand" in refused.value.message
    )
    assert snapshot(in_review) == before
    assert mails_since() == []


def test_the_complement_sent_back_returns_the_request_to_the_queue_with_its_history(in_review, instructor, farmer):
    number, filed_at = in_review.number, in_review.filed_at
    workflows.request_information(in_review.pk, "Joignez la facture.", by=instructor, departements=["35"])

    refiled = filing.send(in_review.pk, by=farmer)

    refiled.refresh_from_db()
    assert refiled.status == Status.FILED
    assert (refiled.number, refiled.filed_at, refiled.assigned_to) == (number, filed_at, instructor)
    assert list(refiled.events.values_list("kind", flat=True)) == [
        Kind.FILED,
        Kind.TAKEN,
        Kind.INFORMATION_REQUESTED,
        Kind.REFILED,
    ]
    workflows.take(refiled.pk, by=instructor, departements=["35"])
    refiled.refresh_from_db()
    assert refiled.status == Status.IN_REVIEW


def test_the_instructor_who_asked_is_mailed_the_farm_s_answer(in_review, instructor, farmer, mails_since):
    workflows.request_information(in_review.pk, "Joignez la facture.", by=instructor, departements=["35"])
    mails_since()

    filing.send(in_review.pk, by=farmer, message="Facture jointe, lisible cette fois.")

    [told] = [mail for mail in mails_since() if mail.to == [instructor.email]]
    assert told.subject.startswith(f"Complément envoyé : {in_review.number}")
    assert "Facture jointe, lisible cette fois." in told.body
    assert f"/instruction/demandes/{in_review.pk}/" in told.body


def test_the_answer_goes_to_the_instructor_who_asked_not_to_who_took_it(
    in_review, instructor, colleague, farmer, mails_since
):
    workflows.request_information(in_review.pk, "Joignez la facture.", by=colleague, departements=["35"])
    mails_since()

    filing.send(in_review.pk, by=farmer, message="Facture jointe.")

    told = [mail.to for mail in mails_since() if mail.subject.startswith("Complément envoyé")]
    assert [colleague.email] in told and [instructor.email] not in told


def test_an_instructor_who_no_longer_instructs_the_departement_is_not_told(in_review, instructor, farmer, mails_since):
    workflows.request_information(in_review.pk, "Joignez la facture.", by=instructor, departements=["35"])
    instructor.instructor.departements.filter(code="35").delete()
    mails_since()

    filing.send(in_review.pk, by=farmer, message="Facture jointe.")

    assert not [mail for mail in mails_since() if mail.to == [instructor.email]]


# Payment.


@pytest.mark.parametrize(
    ("made_on", "executed_on"),
    [
        (date(2026, 12, 7), date(2026, 12, 8)),  # a Monday: the next day
        (date(2026, 12, 24), date(2026, 12, 28)),  # Christmas and 26 December, a Friday and a Saturday
        (date(2026, 12, 31), date(2027, 1, 4)),  # New Year's Day is a Friday
        (date(2027, 3, 25), date(2027, 3, 30)),  # the Thursday before Easter: Good Friday, Easter Monday
        (date(2026, 4, 30), date(2026, 5, 4)),  # 1 May is a Friday
    ],
)
def test_a_batch_asks_for_the_next_day_sepa_transfers_are_settled(in_review, instructor, made_on, executed_on):
    accepted = workflows.accept(in_review.pk, full(in_review), by=instructor, departements=["35"])

    with time_machine.travel(datetime.combine(made_on, time(10), tzinfo=ZoneInfo("Europe/Paris"))):
        batch = workflows.put_in_payment([accepted.pk], by=instructor, departements=["35"])

    assert batch.execution_date == executed_on


# PostgreSQL races: each step taken once.


@pytest.mark.postgres
def test_instructors_accepting_one_request_at_once_accept_it_once(postgresql_only, in_review, farmer, second_manager):
    instructors = [make_instructor("35", email=f"instructeur{n}@dgfip.test") for n in range(6)]
    decisions = full(in_review)
    mails_before = Email.objects.count()

    def accept(user):
        try:
            return workflows.accept(in_review.pk, decisions, by=user, departements=["35"]).status
        except workflows.WrongStatus as refused:
            return refused.message

    results = run_together(*[lambda user=user: accept(user) for user in instructors])

    assert results.count(Status.ACCEPTED) == 1, results
    assert all("« Accepter » n'est plus possible" in r for r in results if r != Status.ACCEPTED), results
    assert RefundEvent.objects.filter(request=in_review, kind=Kind.ACCEPTED).count() == 1
    assert AuditEvent.objects.filter(action=Action.REFUND_ACCEPTED).count() == 1
    assert Email.objects.count() - mails_before == 2  # the filer (main manager) and the other manager, once


@pytest.mark.postgres
def test_instructors_taking_one_request_at_once_take_it_once(postgresql_only, filed):
    instructors = [make_instructor("35", email=f"instructeur{n}@dgfip.test") for n in range(6)]

    def take(user):
        try:
            return workflows.take(filed.pk, by=user, departements=["35"]).assigned_to_id
        except workflows.WrongStatus:
            return "refused"

    results = run_together(*[lambda user=user: take(user) for user in instructors])

    filed.refresh_from_db()
    assert results.count("refused") == len(instructors) - 1, results
    assert filed.assigned_to_id in results
    assert RefundEvent.objects.filter(request=filed, kind=Kind.TAKEN).count() == 1
