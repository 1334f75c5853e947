"""The structure's steps that send mail, each one transaction.

Bank details: substituting the IBAN is the classic fraud on refund portals, so
whoever manages the structure hears of every creation, change and deletion at
once. Members: detaching a user and handing over the main-manager role.
"""

from django.db import transaction

from structures import emails
from structures.models import BankAccount, Membership, Structure
from structures.validators import RibFile


class DefaultAccountInUse(Exception):
    """The default account cannot go while others remain: choose another default first."""


class MembershipChanged(Exception):
    """The membership was detached, or the roles changed, since the page was shown."""


class BankAccountTaken(Exception):
    """Another request registered the same IBAN or name on this structure a moment earlier."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _refuse_taken(structure, **values) -> None:
    """Under the structure's lock: an IBAN or name registered by another request since the form was checked."""
    if taken := BankAccount.objects.taken(structure, **values):
        field = next(iter(taken))
        raise BankAccountTaken(field, taken[field])


def _store_rib(bank_account: BankAccount, rib: RibFile, filename: str) -> None:
    bank_account.rib_content_type = rib.content_type
    bank_account.rib_filename = filename
    # save=False: the caller saves the row, once, in its transaction.
    bank_account.rib.save("rib", rib.content, save=False)


def create_bank_account(
    *, structure: Structure, label: str, iban: str, bic: str, rib: RibFile, filename: str, by
) -> BankAccount:
    with transaction.atomic():
        # Lock the structure: two accounts created at once must not both become the
        # default, and the form's uniqueness checks are re-run under the lock.
        Structure.objects.select_for_update().get(pk=structure.pk)
        _refuse_taken(structure, iban=iban, label=label)
        bank_account = BankAccount(
            structure=structure,
            label=label,
            iban=iban,
            bic=bic,
            created_by=by,
            is_default=not structure.bank_accounts.exists(),
        )
        _store_rib(bank_account, rib, filename)
        bank_account.save()
        emails.bank_details_changed(bank_account, ["created"], by)
    return bank_account


def update_bank_account(bank_account: BankAccount, *, label: str, rib: RibFile | None, filename: str, by) -> list[str]:
    """Rename the account and/or replace its RIB; returns what changed ("renamed", "rib_replaced")."""
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=bank_account.structure_id)
        bank_account.refresh_from_db()
        previous_label = bank_account.label
        changes = []
        if label != previous_label:
            _refuse_taken(bank_account.structure_id, label=label)
            bank_account.label = label
            changes.append("renamed")
        if rib is not None:
            _store_rib(bank_account, rib, filename)
            changes.append("rib_replaced")
        if changes:
            bank_account.save()
            emails.bank_details_changed(bank_account, changes, by, previous_label=previous_label)
    return changes


def make_default(bank_account: BankAccount, *, by) -> None:
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=bank_account.structure_id)
        bank_account.refresh_from_db()
        if bank_account.is_default:
            return
        for previous in BankAccount.objects.filter(structure=bank_account.structure_id, is_default=True):
            previous.is_default = False
            previous.save(update_fields=["is_default", "updated_at"])
        bank_account.is_default = True
        bank_account.save(update_fields=["is_default", "updated_at"])
        emails.bank_details_changed(bank_account, ["made_default"], by)


def delete_bank_account(bank_account: BankAccount, *, by) -> None:
    """Delete the account; its RIB file stays for the history, which still points to it."""
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=bank_account.structure_id)
        bank_account.refresh_from_db()
        others = BankAccount.objects.filter(structure=bank_account.structure_id).exclude(pk=bank_account.pk)
        if bank_account.is_default and others.exists():
            raise DefaultAccountInUse
        emails.bank_details_changed(bank_account, ["deleted"], by)
        bank_account.delete()


def detach(membership: Membership, *, by) -> None:
    """« Détacher » a user who left the structure; they are told by mail."""
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=membership.structure_id)
        locked = Membership.objects.filter(pk=membership.pk).select_related("user", "structure").first()
        if locked is None or locked.is_main_manager:
            raise MembershipChanged
        locked.delete()
        emails.membership_ended(locked, by)


def hand_over_main_manager(structure: Structure, *, to: Membership, by, current=None) -> None:
    """Makes `to` the main manager; the previous one stays a manager. Both are told by mail.

    `current`: the main manager the caller saw (on the site, the one handing
    over). If the role moved meanwhile, nothing changes. Staff appointing a
    main manager from the admin pass none.
    """
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=structure.pk)
        target = (
            Membership.objects.eligible_managers().filter(pk=to.pk, structure=structure).select_related("user").first()
        )
        previous = structure.memberships.filter(role=Membership.Role.MAIN_MANAGER).select_related("user").first()
        if target is None or target.is_main_manager:
            raise MembershipChanged
        if current is not None and (previous is None or previous.user_id != current.pk):
            raise MembershipChanged
        if previous is not None:
            # The partial unique constraint allows one main manager: step down first.
            previous.role = Membership.Role.MANAGER
            previous.save(update_fields=["role"])
        target.role = Membership.Role.MAIN_MANAGER
        target.save(update_fields=["role"])
        emails.main_manager_changed(structure, new=target.user, previous=previous.user if previous else None, by=by)
