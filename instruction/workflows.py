"""The tax office's steps on a sent request, and its payment: each one transaction, under row locks.

A step finds the request among the instructor's départements (`NotFound` otherwise, a 404), locks it, and
checks that its status still allows the step: two instructors who click at once get one decision, and the
second is told what was done (`WrongStatus`). Each step records an event on the request, a row of the audit
trail, and mails the filer and the structure's managers (`refunds.emails.request_event`).

« Prendre en charge »: Déposée → En instruction, assigned to the instructor.
« Demander un complément »: En instruction → Complément demandé; the farm changes its lines and sends them
back (`refunds.workflows.send`), which returns the request to Déposée.
« Accepter »: En instruction → Acceptée, or Partiellement acceptée when a line is reduced (with its reason).
« Rejeter »: En instruction → Rejetée, with the reason.
« Mettre en paiement »: accepted requests → Mise en paiement, in one batch and its SEPA file, built from the
bank account frozen at filing (`instruction.sepa`). « Marquer comme payée »: the batch's requests → Payée.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import holidays
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from sepaxml.validation import ValidationError

from audit.log import record
from audit.models import Action
from chorus.templatetags.ui import euros
from instruction import sepa
from instruction.access import batches_in
from refunds import emails
from refunds.models import (
    CENT,
    MESSAGE_MAX_LENGTH,
    MESSAGE_MAX_TEXT,
    PaymentBatch,
    RefundEvent,
    RefundLine,
    RefundRequest,
)

Status = RefundRequest.Status


class NotFound(Exception):
    """No such sent request, or batch, in the instructor's départements: the page answers 404."""


class WrongStatus(Exception):
    """The request (or batch) is no longer in a status that allows the step: nothing was changed."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DecisionInvalid(Exception):
    """A decision the instructor must correct: {line id or field: message}."""

    def __init__(self, errors: dict):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@dataclass(frozen=True)
class LineDecision:
    """A line accepted in full (`granted` equal to its amount) or reduced, with the reason."""

    granted: Decimal
    reason: str = ""


# The steps on one request.


@transaction.atomic
def take(request_pk: int, *, by, departements) -> RefundRequest:
    """« Prendre en charge »."""
    request = _locked(request_pk, departements, allowed=[Status.FILED], step="Prendre en charge")
    request.status = Status.IN_REVIEW
    request.assigned_to = by
    request.save(update_fields=["status", "assigned_to", "updated_at"])
    _done(request, RefundEvent.Kind.TAKEN, Action.REFUND_TAKEN, by)
    return request


@transaction.atomic
def request_information(request_pk: int, message: str, *, by, departements) -> RefundRequest:
    """« Demander un complément »: the farm may change its lines and send them back."""
    message = _required(message, "message", "Écrivez le complément que vous demandez à la structure.")
    request = _locked(request_pk, departements, allowed=[Status.IN_REVIEW], step="Demander un complément")
    request.status = Status.INFORMATION_REQUESTED
    request.save(update_fields=["status", "updated_at"])
    _done(request, RefundEvent.Kind.INFORMATION_REQUESTED, Action.REFUND_INFORMATION_REQUESTED, by, message)
    return request


@transaction.atomic
def accept(request_pk: int, decisions: dict[int, LineDecision], *, by, departements) -> RefundRequest:
    """« Accepter »: every line granted in full or reduced with a reason; the granted total is their sum."""
    request = _locked(request_pk, departements, allowed=[Status.IN_REVIEW], step="Accepter")
    lines = list(request.lines.select_related("product"))
    errors = {}
    for line in lines:
        decision = decisions.get(line.pk)
        if decision is None:
            errors[line.pk] = f"Indiquez le montant accordé pour la facture « {line.invoice_number} »."
            continue
        granted = decision.granted
        # The bounds before the cents: quantizing a huge number, or comparing NaN, raises instead of answering.
        if not granted.is_finite():
            errors[line.pk] = "Le montant accordé s'écrit en chiffres."
        elif granted < 0:
            errors[line.pk] = "Le montant accordé ne peut pas être négatif."
        elif granted > line.amount:
            errors[line.pk] = f"Le montant accordé ne peut pas dépasser le montant demandé ({euros(line.amount)})."
        elif granted != granted.quantize(CENT):
            errors[line.pk] = "Le montant accordé s'écrit au centime près (deux décimales au plus)."
        elif granted < line.amount and not decision.reason.strip():
            errors[line.pk] = "Indiquez le motif de la réduction : il est écrit à la structure."
        elif granted < line.amount and len(decision.reason.strip()) > MESSAGE_MAX_LENGTH:
            errors[line.pk] = f"Le motif de la réduction s'écrit en {MESSAGE_MAX_TEXT} caractères au plus."
    if unknown := set(decisions) - {line.pk for line in lines}:
        errors["lines"] = f"Ces lignes ne sont pas celles de la demande : {sorted(unknown)}."
    if not errors and not any(decisions[line.pk].granted for line in lines):
        errors["lines"] = "Aucun montant n'est accordé : rejetez la demande, avec son motif, plutôt que l'accepter."
    if errors:
        raise DecisionInvalid(errors)

    reduced = []
    for line in lines:
        decision = decisions[line.pk]
        line.granted_amount = decision.granted.quantize(CENT)
        line.reduction_reason = decision.reason.strip() if decision.granted < line.amount else ""
        if line.reduction_reason:
            reduced.append(line)
    RefundLine.objects.bulk_update(lines, ["granted_amount", "reduction_reason"])
    request.total_granted = sum((line.granted_amount for line in lines), Decimal("0.00"))
    request.status = Status.PARTLY_ACCEPTED if reduced else Status.ACCEPTED
    request.save(update_fields=["total_granted", "status", "updated_at"])
    summary = f"Montant accordé : {euros(request.total_granted)} sur {euros(request.total_asked)} demandés."
    for line in reduced:
        summary += (
            f"\nFacture « {line.invoice_number} » : {euros(line.granted_amount)} accordés sur {euros(line.amount)}"
            f" – {line.reduction_reason}"
        )
    kind = RefundEvent.Kind.PARTLY_ACCEPTED if reduced else RefundEvent.Kind.ACCEPTED
    _done(request, kind, Action.REFUND_ACCEPTED, by, summary, total=str(request.total_granted))
    return request


@transaction.atomic
def reject(request_pk: int, reason: str, *, by, departements) -> RefundRequest:
    """« Rejeter », with the reason written to the structure."""
    reason = _required(reason, "reason", "Indiquez le motif du rejet : il est écrit à la structure.")
    request = _locked(request_pk, departements, allowed=[Status.IN_REVIEW], step="Rejeter")
    request.status = Status.REJECTED
    request.total_granted = Decimal("0.00")
    request.lines.update(granted_amount=Decimal("0.00"), reduction_reason="")
    request.save(update_fields=["status", "total_granted", "updated_at"])
    _done(request, RefundEvent.Kind.REJECTED, Action.REFUND_REJECTED, by, reason)
    return request


# Payment.


def next_business_day(day: date) -> date:
    """The execution date a batch asks for: the first day after `day` that SEPA transfers are settled, neither a
    Saturday or Sunday nor a day the euro's settlement system (TARGET) is closed: 1 January, Good Friday, Easter
    Monday, 1 May, 25 and 26 December."""
    closed = holidays.financial_holidays("XECB")  # the ECB's TARGET calendar (ISO 10383 market code)
    day += timedelta(days=1)
    while day.weekday() >= 5 or day in closed:
        day += timedelta(days=1)
    return day


@transaction.atomic
def put_in_payment(request_pks: list[int], *, by, departements) -> PaymentBatch:
    """« Mettre en paiement »: one batch, one SEPA file, one transfer per request to its frozen account."""
    if not request_pks:
        raise DecisionInvalid({"requests": "Cochez au moins une demande acceptée à mettre en paiement."})
    wanted = set(request_pks)
    requests = list(
        RefundRequest.objects.select_for_update(of=("self",))
        .select_related("structure")
        .filter(pk__in=wanted, departement__in=departements)
        .exclude(status=Status.DRAFT)
        .order_by("pk")  # one order for every batch: two batches wait on each other, never deadlock
    )
    if len(requests) != len(wanted):
        raise NotFound
    if refused := [r for r in requests if r.status not in RefundRequest.PAYABLE or r.payment_batch_id]:
        names = ", ".join(f"{r.number} (« {r.get_status_display()} »)" for r in refused)
        raise WrongStatus(
            f"Seules les demandes acceptées, pas encore mises en paiement, peuvent l'être : {names}. "
            "Aucun lot n'a été créé."
        )

    now = timezone.now()
    batch = PaymentBatch.objects.create(
        number=f"provisoire-{now.timestamp()}",
        created_by=by,
        created_at=now,
        execution_date=next_business_day(timezone.localdate(now)),
        transfer_count=len(requests),
        control_sum=sum((r.total_granted for r in requests), Decimal("0.00")),
    )
    batch.number = f"VIR-{timezone.localdate(now):%Y}-{batch.pk:06d}"
    try:
        xml = sepa.build(message_id=batch.number, requests=requests, execution_date=batch.execution_date)
    except ValueError as unpayable:  # a request without frozen bank details or amount: the whole batch waits
        raise DecisionInvalid({"requests": str(unpayable)}) from None
    except ValidationError as invalid:  # what the schema refuses is never stored, nor put in payment
        raise DecisionInvalid(
            {"requests": f"Le fichier de virements n'est pas conforme au schéma SEPA : {invalid}"}
        ) from None
    batch.file.save(f"{batch.number}.xml", ContentFile(xml), save=False)
    batch.save(update_fields=["number", "file"])
    RefundRequest.objects.filter(pk__in=wanted).update(status=Status.IN_PAYMENT, payment_batch=batch, updated_at=now)
    for request in requests:
        request.status, request.payment_batch = Status.IN_PAYMENT, batch
        message = (
            f"Virement de {euros(request.total_granted)} sur le compte {request.masked_iban} "
            f"({request.bank_label}), demandé pour le {date_format(batch.execution_date, 'SHORT_DATE_FORMAT')}."
        )
        _event_and_mail(request, RefundEvent.Kind.IN_PAYMENT, by, message)
    record(
        Action.PAYMENT_BATCH_CREATED,
        actor=by,
        target=batch.number,
        requests=[r.number for r in requests],
        total=str(batch.control_sum),
    )
    return batch


@transaction.atomic
def mark_paid(batch_pk: int, *, by, departements) -> PaymentBatch:
    """« Marquer comme payée »: the bank has executed the batch; its requests are « Payée »."""
    visible = batches_in(departements).values("pk")
    batch = PaymentBatch.objects.select_for_update().filter(pk=batch_pk, pk__in=visible).first()
    if batch is None:
        raise NotFound
    if batch.status == PaymentBatch.Status.PAID:
        when = date_format(timezone.localtime(batch.paid_at), "SHORT_DATETIME_FORMAT")
        who = batch.paid_by.get_full_name() if batch.paid_by else "un instructeur"
        raise WrongStatus(f"Le lot {batch.number} a déjà été marqué comme payé le {when} par {who}.")
    now = timezone.now()
    batch.status, batch.paid_by, batch.paid_at = PaymentBatch.Status.PAID, by, now
    batch.save(update_fields=["status", "paid_by", "paid_at"])
    requests = list(batch.requests.select_for_update(of=("self",)).select_related("structure").order_by("pk"))
    batch.requests.update(status=Status.PAID, updated_at=now)
    for request in requests:
        request.status = Status.PAID
        message = f"Virement de {euros(request.total_granted)} effectué sur le compte {request.masked_iban}."
        _event_and_mail(request, RefundEvent.Kind.PAID, by, message)
    record(Action.PAYMENT_BATCH_PAID, actor=by, target=batch.number, requests=len(requests))
    return batch


# Helpers.


def _locked(request_pk: int, departements, *, allowed: list[str], step: str) -> RefundRequest:
    request = (
        RefundRequest.objects.select_for_update(of=("self",))
        .select_related("structure")
        .filter(pk=request_pk, departement__in=departements)
        .exclude(status=Status.DRAFT)
        .first()
    )
    if request is None:
        raise NotFound
    if request.status not in allowed:
        raise WrongStatus(_already(request, step))
    return request


def _already(request: RefundRequest, step: str) -> str:
    """« Accepter » n'est plus possible : … what was done, by whom and when, so the second instructor knows."""
    last = request.events.exclude(kind=RefundEvent.Kind.CREATED).order_by("-at", "-pk").first()
    done = ""
    if last is not None:
        when = date_format(timezone.localtime(last.at), "SHORT_DATETIME_FORMAT")
        who = last.actor.get_full_name() if last.actor else "la structure"
        done = f" depuis « {last.get_kind_display()} » le {when} par {who}"
    return (
        f"« {step} » n'est plus possible : la demande {request.number} est « {request.get_status_display()} »"
        f"{done}. Rien n'a été changé."
    )


def _required(text: str, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise DecisionInvalid({field: message})
    if len(text) > MESSAGE_MAX_LENGTH:
        raise DecisionInvalid({field: f"{MESSAGE_MAX_TEXT} caractères au plus ({len(text)} saisis)."})
    return text


def _done(request, kind, action, by, message: str = "", **details) -> None:
    _event_and_mail(request, kind, by, message)
    record(action, actor=by, structure=request.structure, target=request.number, **details)


def _event_and_mail(request, kind, by, message: str = "") -> None:
    event = RefundEvent.objects.create(
        request=request,
        kind=kind,
        actor=by,
        actor_label=f"{by.get_full_name()} ({by.email})",
        message=message,
    )
    emails.request_event(request, event)
