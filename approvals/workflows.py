"""The approval steps: file a request, decide it, withdraw it; each one transaction, mail queued inside.

A request is decided once. Deciding locks its row and reads its state under
the lock, so two managers (or two tabs) deciding at once run one after the
other: the second finds it closed and is told so, and no second mail leaves.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from approvals import emails
from approvals.models import ApprovalRequest
from audit.log import record
from audit.models import Action
from structures import workflows as structures
from structures.models import Membership, Structure


class AlreadyAttached(Exception):
    """The user is already attached to the structure."""


class AlreadyRequested(Exception):
    """The user already waits for a decision on this structure."""


class AlreadyDecided(Exception):
    """The request was approved, refused or withdrawn before this decision."""

    message = "Cette demande a déjà été traitée."


def request_attachment(*, user, structure: Structure, comment: str = "") -> ApprovalRequest:
    """« Demander un rattachement »: files the request and tells the structure's main manager."""
    with transaction.atomic():
        if Membership.objects.filter(user=user, structure=structure).exists():
            raise AlreadyAttached
        try:
            with transaction.atomic():
                approval_request = ApprovalRequest.objects.create(requester=user, structure=structure, comment=comment)
        except IntegrityError:  # one live request per requester and structure
            raise AlreadyRequested from None
        record(Action.REQUEST_FILED, actor=user, structure=structure, target=_target(approval_request))
        emails.attachment_requested(approval_request)
    return approval_request


@dataclass(frozen=True)
class Joined:
    """What a SIRET led to: the structure, and whether it was created (the user is its main manager)
    or already there (`request` is then the attachment request filed to it)."""

    structure: Structure
    created: bool
    request: ApprovalRequest | None = None


def join_or_create(*, user, siret: str, comment: str = "") -> Joined:
    """The rule of sign-up and of « Créer une structure »: the SIRET's structure is created with `user`
    as its main manager, or, if it exists, `user` asks to join it with `comment` for its managers.

    Of two users asking at once with one new SIRET, the first creates the structure and
    the second files a request (`register_structure` settles it on the SIRET's unique
    constraint). `AlreadyAttached` and `AlreadyRequested` as `request_attachment` raises them.
    """
    with transaction.atomic():
        structure, created = structures.register_structure(siret, main_manager=user)
        if created:
            return Joined(structure, created=True)
        approval_request = request_attachment(user=user, structure=structure, comment=comment)
        return Joined(structure, created=False, request=approval_request)


def create_structure(*, user, siret: str, comment: str = "") -> Joined:
    """« Créer une structure », by a signed-in user: `join_or_create`, and the creator is mailed their next steps
    (a request is mailed to the structure's managers, as any request is)."""
    with transaction.atomic():
        joined = join_or_create(user=user, siret=siret, comment=comment)
        if joined.created:
            emails.structure_registered(user, joined.structure)
    return joined


def decide(approval_request: ApprovalRequest, *, by, approve: bool, reason: str = "") -> ApprovalRequest:
    """« Approuver » or « Refuser » (with its reason), once; then the requester hears of it."""
    one = ApprovalRequest.objects.filter(pk=approval_request.pk)
    decided, _ = decide_many(one, by=by, approve=approve, reason=reason)
    if not decided:
        raise AlreadyDecided
    return decided[0]


def decide_many(requests, *, by, approve: bool, reason: str = "") -> tuple[list[ApprovalRequest], int]:
    """Decides the pending requests among `requests` alike: (those decided, how many were already closed).

    The caller limits `requests` to what `by` may decide; rows are locked in
    primary-key order so that two bulk decisions cannot deadlock.
    """
    with transaction.atomic():
        locked = list(requests.select_for_update(of=("self",)).select_related("requester", "structure").order_by("pk"))
        decided = [approval_request for approval_request in locked if approval_request.is_pending]
        for approval_request in decided:
            if approve:
                approval_request.approve(by)
                structures.attach(approval_request.requester, approval_request.structure, by=by)
            else:
                approval_request.refuse(by, reason)
            record(
                Action.REQUEST_APPROVED if approve else Action.REQUEST_REFUSED,
                actor=by,
                structure=approval_request.structure,
                target=_target(approval_request),
                **({} if approve else {"motif": reason}),
            )
            emails.decision_made(approval_request)
    return decided, len(locked) - len(decided)


def withdraw(approval_request: ApprovalRequest) -> None:
    """« Retirer »: the requester takes back a request still waiting."""
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=approval_request.pk)
        if not locked.is_pending:
            raise AlreadyDecided
        locked.withdraw()
        record(Action.REQUEST_WITHDRAWN, actor=locked.requester, structure=locked.structure, target=_target(locked))


def _target(approval_request: ApprovalRequest) -> str:
    return f"Demande n° {approval_request.pk} de {approval_request.requester.email}"
