"""Every step that creates, changes or deletes a structure, a membership or bank details: each one
transaction, with its audit row (`audit.log.record`) and its mail.

Bank details: substituting the IBAN is the classic fraud on refund portals, so
whoever manages the structure hears of every creation, change and deletion at
once. Members: attaching a user, detaching one, handing over the main-manager
role. Staff's changes in the admin and the purge of unactivated accounts go
through here too, so that the audit trail misses none.

The audit rows name the fields that changed, never their values: those stay in
each model's history (django-simple-history), which keeps what a field was
before, not who did what.
"""

from django.db import transaction
from django.db.models.fields.files import FieldFile

from audit.log import record
from audit.models import Action
from chorus.uploads import CleanFile
from structures import directory, emails
from structures.models import DIRECTORY_FIELDS, BankAccount, FieldChange, Membership, Structure


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


def _tracked(instance) -> dict:
    """The fields the model's history compares, as plain values (a file by its name)."""
    fields = type(instance).history.model.tracked_fields
    values = {field.name: field.value_from_object(instance) for field in fields if field.editable}
    return {name: value.name if isinstance(value, FieldFile) else value for name, value in values.items()}


def _changed(before: dict, instance) -> list[str]:
    """The names of the fields that differ from `before` (`_tracked` of the same row earlier), sorted."""
    return sorted(name for name, value in _tracked(instance).items() if before[name] != value)


def _field_changes(before: dict, instance) -> list[FieldChange]:
    """The fields that differ from `before`, in the model's order, as people read them (labels, choices)."""
    after = _tracked(instance)
    return [
        FieldChange.of(instance._meta.get_field(name), value, after[name])
        for name, value in before.items()
        if after[name] != value
    ]


def _record(action: Action, instance, *, by, **details) -> None:
    """The audit row of a step on a structure, a membership or a bank account, named as the trail shows them.

    `by` None: whoever is signed in, if anyone (`record`'s default).
    """
    if isinstance(instance, Structure):
        structure, target = instance, instance.name_and_siret
    elif isinstance(instance, Membership):
        structure, target = instance.structure, f"{instance.user.email} : {instance.get_role_display()}"
    else:
        structure, target = instance.structure, f"« {instance.label} » ({instance.masked_iban})"
    record(action, actor=by, structure=structure, target=target, **details)


def _record_change(action: Action, before: dict, instance, *, by) -> list[str]:
    """A change is recorded with the names of the fields it changed (returned); a save that changed nothing, not."""
    if changed := _changed(before, instance):
        _record(action, instance, by=by, champs=changed)
    return changed


def register_structure(siret: str, *, main_manager) -> tuple[Structure, bool]:
    """At activation: the structure of the sign-up's SIRET, created with `main_manager` as main manager if new.

    Returns it and whether it was created. A new structure takes the SIRENE directory's name, address and VAT
    number, when a directory is loaded (`directory.creation_values`). A known SIRET is left as it is (the
    caller files an attachment request instead). The author is the account being
    activated: nobody is signed in yet.
    """
    with transaction.atomic():
        structure, created = Structure.objects.get_or_create(siret=siret, defaults=directory.creation_values(siret))
        if created:
            _record(Action.STRUCTURE_CREATED, structure, by=main_manager)
            membership = Membership.objects.create(
                user=main_manager, structure=structure, role=Membership.Role.MAIN_MANAGER
            )
            _record(Action.MEMBERSHIP_CREATED, membership, by=main_manager)
    return structure, created


def create_structure(structure: Structure, *, by) -> None:
    """A structure staff add in the admin, unsaved until here."""
    with transaction.atomic():
        structure.save()
        _record(Action.STRUCTURE_CREATED, structure, by=by)


def update_structure(structure: Structure, *, by) -> list[str]:
    """Saves the fields set on `structure` (« Modifier une structure », or staff in the admin).

    Compared with the row as it stands, under its lock; returns the names of the
    fields that changed. The row is saved even unchanged, as a form saves it.
    Every manager is mailed what changed, before → after: the category, the PACAGE
    and the centre flag are what refund requests will carry.
    """
    with transaction.atomic():
        locked = Structure.objects.select_for_update().get(pk=structure.pk)
        # The directory's marks are the import's (`structures.receivers`), which may have run since the form read
        # the row: they are kept as they stand, never written back from the form's copy.
        for name in DIRECTORY_FIELDS:
            setattr(structure, name, getattr(locked, name))
        before = _tracked(locked)
        structure.save()
        changed = _record_change(Action.STRUCTURE_CHANGED, before, structure, by=by)
        if changed:
            emails.structure_changed(structure, _field_changes(before, structure), by)
        return changed


def delete_structures(structures, *, by) -> None:
    """Deletes the structures (a queryset) with their memberships, bank details and requests.

    Staff in the admin, and the purge of accounts never activated, which takes the
    structures only they held. The RIB files stay, as the history points to them.
    """
    with transaction.atomic():
        chosen = list(structures.order_by("pk"))
        for membership in Membership.objects.filter(structure__in=chosen).select_related("user", "structure"):
            _record(Action.MEMBERSHIP_ENDED, membership, by=by)
        for bank_account in BankAccount.objects.filter(structure__in=chosen).select_related("structure"):
            _record(Action.BANK_DELETED, bank_account, by=by)
        for structure in chosen:
            _record(Action.STRUCTURE_DELETED, structure, by=by)
        Structure.objects.filter(pk__in=[structure.pk for structure in chosen]).delete()


def attach(user, structure: Structure, *, by) -> Membership:
    """Attaches `user` to the structure as a simple user, once its attachment request is approved.

    A user already attached keeps their membership and role.
    """
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(user=user, structure=structure)
        if created:
            _record(Action.MEMBERSHIP_CREATED, membership, by=by)
    return membership


def save_membership(membership: Membership, *, by) -> None:
    """A membership staff add or change in the admin (the main manager changes through the handover)."""
    with transaction.atomic():
        if membership._state.adding:
            membership.save()
            _record(Action.MEMBERSHIP_CREATED, membership, by=by)
            return
        before = _tracked(Membership.objects.select_for_update().get(pk=membership.pk))
        membership.save()
        _record_change(Action.ROLE_CHANGED, before, membership, by=by)


def delete_memberships(memberships, *, by) -> None:
    """Deletes the memberships (a queryset), without mail: staff in the admin, or with their users' accounts.

    A user who leaves a structure is detached on the site instead (`detach`), which tells them.
    """
    with transaction.atomic():
        chosen = list(memberships.select_related("user", "structure").order_by("pk"))
        for membership in chosen:
            _record(Action.MEMBERSHIP_ENDED, membership, by=by)
        Membership.objects.filter(pk__in=[membership.pk for membership in chosen]).delete()


def _refuse_taken(structure, **values) -> None:
    """Under the structure's lock: an IBAN or name registered by another request since the form was checked."""
    if taken := BankAccount.objects.taken(structure, **values):
        field = next(iter(taken))
        raise BankAccountTaken(field, taken[field])


def _store_rib(bank_account: BankAccount, rib: CleanFile, filename: str) -> None:
    bank_account.rib_content_type = rib.content_type
    bank_account.rib_filename = filename
    # save=False: the caller saves the row, once, in its transaction.
    bank_account.rib.save("rib", rib.content, save=False)


def create_bank_account(
    *, structure: Structure, label: str, iban: str, bic: str, rib: CleanFile, filename: str, by
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
        _record(Action.BANK_CREATED, bank_account, by=by)
        emails.bank_details_changed(bank_account, ["created"], by)
    return bank_account


def update_bank_account(
    bank_account: BankAccount, *, label: str, rib: CleanFile | None, filename: str, by
) -> list[str]:
    """Rename the account and/or replace its RIB; returns what changed ("renamed", "rib_replaced")."""
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=bank_account.structure_id)
        bank_account.refresh_from_db()
        before = _tracked(bank_account)
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
            _record_change(Action.BANK_CHANGED, before, bank_account, by=by)
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
            _record(Action.BANK_CHANGED, previous, by=by, champs=["is_default"])
        bank_account.is_default = True
        bank_account.save(update_fields=["is_default", "updated_at"])
        _record(Action.BANK_CHANGED, bank_account, by=by, champs=["is_default"])
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
        _record(Action.BANK_DELETED, bank_account, by=by)
        bank_account.delete()


def detach(membership: Membership, *, by) -> None:
    """« Détacher » a user who left the structure; they are told by mail."""
    with transaction.atomic():
        Structure.objects.select_for_update().get(pk=membership.structure_id)
        locked = Membership.objects.filter(pk=membership.pk).select_related("user", "structure").first()
        if locked is None or locked.is_main_manager:
            raise MembershipChanged
        _record(Action.MEMBERSHIP_ENDED, locked, by=by)
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
            _record(Action.ROLE_CHANGED, previous, by=by, champs=["role"])
        target.role = Membership.Role.MAIN_MANAGER
        target.save(update_fields=["role"])
        _record(Action.ROLE_CHANGED, target, by=by, champs=["role"])
        emails.main_manager_changed(structure, new=target.user, previous=previous.user if previous else None, by=by)
