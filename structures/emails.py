"""The mails of the structures app, one function each (templates in templates/emails/)."""

from django.utils import timezone

from chorus import mail

BANK_DETAIL_CHANGES = {
    "created": "Une coordonnée bancaire a été créée",
    "renamed": "Une coordonnée bancaire a été renommée",
    "rib_replaced": "Le RIB d'une coordonnée bancaire a été remplacé",
    "made_default": "La coordonnée bancaire par défaut a changé",
    "deleted": "Une coordonnée bancaire a été supprimée",
}


def bank_details_changed(bank_account, changes: list[str], by, previous_label: str = "") -> None:
    """Tells every manager of the structure what changed in its bank details, IBAN masked."""
    structure = bank_account.structure
    context = {
        "subject": BANK_DETAIL_CHANGES[changes[0]] if len(changes) == 1 else "Une coordonnée bancaire a été modifiée",
        "changes": [BANK_DETAIL_CHANGES[change] for change in changes],
        "renamed": "renamed" in changes,
        "deleted": "deleted" in changes,
        "bank_account": bank_account,
        "previous_label": previous_label,
        "structure": structure,
        "by": by,
        "at": timezone.localtime(),
        "structure_link": mail.absolute_url(structure.get_absolute_url()),
    }
    for membership in structure.managers_to_notify():
        mail.send(
            "bank_details_changed",
            membership.user.notification_email,
            {**context, "manager": membership.user},
        )


def structure_changed(structure, changes: list, by) -> None:
    """Tells every manager what changed in the structure's information, each field before → after."""
    context = {
        "structure": structure,
        "changes": changes,
        "by": by,
        "at": timezone.localtime(),
        "structure_link": mail.absolute_url(structure.get_absolute_url()),
    }
    for membership in structure.managers_to_notify():
        mail.send("structure_changed", membership.user.notification_email, {**context, "manager": membership.user})


def membership_ended(membership, by) -> None:
    """Tells a detached user that they no longer act for the structure."""
    mail.send(
        "membership_ended",
        membership.user.notification_email,
        {"user": membership.user, "structure": membership.structure, "by": by, "at": timezone.localtime()},
    )


def main_manager_changed(structure, *, new, previous, by) -> None:
    """Tells the new main manager, and the previous one if any, who now vouches for the structure."""
    context = {
        "structure": structure,
        "new": new,
        "previous": previous,
        "by": by,
        "at": timezone.localtime(),
        "structure_link": mail.absolute_url(structure.get_absolute_url()),
    }
    for recipient in [new, previous]:
        if recipient is not None and recipient.is_active:
            mail.send("main_manager_changed", recipient.notification_email, {**context, "recipient": recipient})
