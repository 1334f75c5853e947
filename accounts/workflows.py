"""Account steps that span several models and send mail, each in one transaction."""

from collections.abc import Callable
from dataclasses import dataclass

from axes.utils import reset as forget_failed_sign_ins
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from accounts.models import AddressChange, User
from accounts.tokens import activation_token
from approvals import workflows as approvals
from audit.log import record
from audit.models import Action
from chorus.mail import after_response
from sirene.directory import Listed, Unlisted
from structures import directory
from structures.models import Structure

# Who signs in, and where bank and role warnings go: changed only by a confirmed link.
ADDRESS_FIELDS = {"email", "contact_email"}


@dataclass(frozen=True)
class Registration:
    """What the recap page tells: the same whether or not the address was taken.

    `structure_exists`: an activated account already holds a structure of this SIRET
    (structures come into being at activation), so the attachment will be requested.
    `sirene_*`: what the SIRENE directory says of the SIRET, when one is loaded (`sirene_state` blank otherwise),
    the name and address the new structure will take; of an address not public, the commune only.
    """

    email: str
    first_name: str
    last_name: str
    phone: str
    contact_email: str
    siret: str
    structure_exists: bool
    comment: str = ""
    sirene_state: str = ""
    sirene_stock_date: str = ""
    sirene_name: str = ""
    sirene_address: str = ""
    sirene_restricted: bool = False
    vat_number: str = ""


def register(
    *,
    email: str,
    first_name: str,
    last_name: str,
    siret: str,
    phone: str = "",
    contact_email: str = "",
    survey_consent: bool = False,
    comment: str = "",
    listing: Listed | Unlisted | None = None,
) -> Registration:
    """« Créer mon compte »: the recap at once, the account once the answer has left.

    Nothing the visitor or a structure's manager can see before activation depends
    on whether the login address was taken: the account (or, for a taken address,
    a mail to its owner) is made after the response (`after_response`), and the
    structure or the attachment request waits for activation (`activate`).
    """
    after_response(
        _create_account,
        email=email,
        first_name=first_name,
        last_name=last_name,
        siret=siret,
        phone=phone,
        contact_email=contact_email,
        survey_consent=survey_consent,
        comment=comment,
    )
    return Registration(
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        contact_email=contact_email,
        siret=siret,
        structure_exists=Structure.objects.filter(siret=siret).exists(),
        comment=comment,
        **_as_listed(listing, siret),
    )


def _as_listed(listing: Listed | Unlisted | None, siret: str) -> dict:
    """The recap's words for the directory's answer."""
    values = directory.values_of(listing, siret[:9])
    if not values:
        return {}
    shown = {"sirene_state": values["sirene_state"], "sirene_stock_date": f"{listing.stock_date:%d/%m/%Y}"}
    if isinstance(listing, Listed):
        shown.update(
            sirene_name=values["name"],
            sirene_restricted=listing.restricted,
            vat_number=values["vat_number"],
        )
        # A partly public address comes without its street (`values_of`): the commune alone.
        lines = [
            values.get("address", ""),
            values.get("address_complement_1", ""),
            f"{values['postal_code']} {values['city']}",
        ]
        shown["sirene_address"] = "\n".join(line.strip() for line in lines if line.strip())
    return shown


def _create_account(*, email: str, siret: str, comment: str, **fields) -> None:
    """The account awaiting activation, with the SIRET asked for and the comment, and its activation link.

    A taken login address creates nothing: its owner is told by mail instead.
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email,
                    **fields,
                    signup_siret=siret,
                    signup_comment=comment,
                    terms_accepted_at=now,
                    terms_version=settings.TERMS_VERSION,
                    activation_sent_at=now,
                )
        except IntegrityError:
            emails.signup_with_taken_address(User.objects.get(email=email))
        else:
            emails.activation_link(user)


class LinkExpired(Exception):
    """The activation link was used, replaced by a newer one, or is too old."""


def activate(user_id: int, token: str, password: str, *, sign_in: Callable[[User], None] | None = None) -> User:
    """« SOUMETTRE »: sets the password, activates the account and joins the SIRET's structure, once per link.

    The row lock makes two submissions of one link run one after the other;
    the second finds the account active, which voids the token. `sign_in(user)`, the view's signing in of the
    browser, runs last in the same transaction: one commit for the whole step.
    """
    hashed = make_password(password)  # outside the lock and the transaction: hashing is the slow part
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if not activation_token.check_token(user, token):
            raise LinkExpired
        user.password = hashed
        user.is_active = True
        user.activated_at = timezone.now()
        user.save(update_fields=["password", "is_active", "activated_at"])
        record(Action.ACTIVATED, actor=user)
        if user.signup_siret:
            _join_structure(user)
        if sign_in is not None:
            sign_in(user)
    return user


def _join_structure(user: User) -> None:
    """The structure of the SIRET typed at sign-up: created with the user as main manager, or asked to join
    with the comment typed at sign-up (`approvals.join_or_create`, the rule « Créer une structure » follows too).

    The structure's managers are mailed now, and the user gets the summary of the
    account. The comment has served: it is cleared.
    """
    try:
        joined = approvals.join_or_create(user=user, siret=user.signup_siret, comment=user.signup_comment)
        structure, created = joined.structure, joined.created
    except (approvals.AlreadyAttached, approvals.AlreadyRequested):
        # Staff may have attached the account, or filed its request, before it was activated.
        structure, created = Structure.objects.get(siret=user.signup_siret), False
    if user.signup_comment:
        user.signup_comment = ""
        user.save(update_fields=["signup_comment"])
    emails.account_summary(user, structure, structure_created=created)


def resend_activation(email: str) -> None:
    """Sends a new link (voiding older ones) if this address awaits activation.

    Says nothing either way. Staff and a structure's managers call it directly;
    a visitor's request goes through `ask_for_activation_link`.
    """
    with transaction.atomic():
        user = User.objects.awaiting_activation().select_for_update().filter(email=email).first()
        if user is None:
            return
        user.activation_sent_at = timezone.now()
        user.save(update_fields=["activation_sent_at"])
        emails.activation_link(user)


def ask_for_activation_link(email: str) -> None:
    """« Recevoir un nouveau lien », asked by a visitor: `resend_activation` once the answer has left.

    The page and its timing are then the same whether or not the address awaits activation.
    """
    after_response(resend_activation, email)


def forgot_password(email: str) -> None:
    """« Mot de passe oublié »: a reset link to the login address of an active account, once the answer has left.

    An account never activated has no password to reset: it gets a new
    activation link instead. The page and its timing are the same for any address.
    """
    after_response(_send_reset_link, email)


def _send_reset_link(email: str) -> None:
    """A newer reset link voids the older ones: the token hashes the time it was sent."""
    if User.objects.awaiting_activation().filter(email=email).exists():
        resend_activation(email)
        return
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email=email, is_active=True).first()
        if user is None or not user.has_usable_password():
            return
        user.password_reset_sent_at = timezone.now()
        user.save(update_fields=["password_reset_sent_at"])
        emails.password_reset(user)


def deactivate(user: User) -> None:
    """« Désactiver mon compte »: no more sign-in, and every session ends, on every device.

    Ending them (rather than relying on the backend refusing inactive users)
    keeps them ended if staff reactivate the account later.
    """
    with transaction.atomic():
        user.is_active = False
        user.save(update_fields=["is_active"])
        user.end_sessions()
        record(Action.DEACTIVATED, actor=user)
        emails.account_deactivated(user)


def reset_password(user: User, password: str) -> User:
    """« Mot de passe oublié », from the mailed link: the new password, which ends the user's sessions.

    It lifts the account's sign-in lockout too (the lockout page offers this way back): the link
    proves the mailbox, and the failures were guesses at a password that no longer opens anything.
    """
    with transaction.atomic():
        forget_failed_sign_ins(username=user.email)
        return _new_password(user, password, Action.PASSWORD_RESET, actor=user)


def change_password(user: User, password: str) -> User:
    """« Changer de mot de passe »: the caller keeps the session it is asked from (`update_session_auth_hash`)."""
    return _new_password(user, password, Action.PASSWORD_CHANGED, actor=user)


def set_password_by_staff(user: User, password: str | None) -> User:
    """The admin's « change password », audited: a password set by staff is an account takeover step.

    `None` leaves the account without a usable password. The staff member
    recorded is the one signed in (the admin's password form knows no other).
    """
    return _new_password(user, password, Action.PASSWORD_SET_BY_STAFF, target=user.email)


def _new_password(user: User, password: str | None, action: Action, **audit) -> User:
    with transaction.atomic():
        user.set_password(password)
        user.save()
        record(action, **audit)
    return user


def change_account(user: User, *, changed: list[str], by: User) -> User:
    """Saves an account's details, changed by its owner (« Mon profil ») or by staff in the admin.

    The audit row names the fields changed, never their values. An account
    that staff deactivate here has its sessions ended, as `deactivate` does.
    The login and contact addresses are never saved here, whatever the caller
    set: they change once the new address confirms a link (`confirm_address_change`).
    """
    with transaction.atomic():
        user.save(update_fields=[name for name in user.savable_fields() if name not in ADDRESS_FIELDS])
        if changed:
            if "is_active" in changed and not user.is_active:
                user.end_sessions()
                record(Action.DEACTIVATED, actor=by, target=user.email)
            record(Action.ACCOUNT_CHANGED, actor=by, target=user.email, champs=changed)
    return user


def lift_lockout(user: User, *, by: User) -> bool:
    """Staff's « Débloquer la connexion »: django-axes forgets the address's failed sign-ins.

    False, and nothing recorded, when there were none to forget.
    """
    with transaction.atomic():
        if not forget_failed_sign_ins(username=user.email):
            return False
        record(Action.LOCKOUT_LIFTED, actor=by, target=user.email)
    return True


class AddressTaken(Exception):
    """The new login address is already another account's."""


def request_login_change(user: User, new_address: str, *, by: User) -> AddressChange:
    """Staff's « Changer l'adresse de connexion »: in force only once the new address confirms the mailed link.

    The old address hears of it at once: support taking an account over by
    changing its address, then asking for a reset, would not go unnoticed.
    Until the link is confirmed nothing changes, resets included.
    """
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        if User.objects.filter(email=new_address).exists():
            raise AddressTaken
        return _request_address_change(user, AddressChange.Kind.LOGIN, new_address, by=by)


def request_contact_change(user: User, new_address: str) -> AddressChange:
    """« Changer l'e-mail du contact », by its owner (password typed again): in force once the new address confirms.

    An empty `new_address` removes the contact address: notices go back to the
    login address, which confirms.
    """
    with transaction.atomic():
        User.objects.select_for_update().get(pk=user.pk)
        return _request_address_change(user, AddressChange.Kind.CONTACT, new_address, by=user)


def _request_address_change(user: User, kind: AddressChange.Kind, new_address: str, *, by: User) -> AddressChange:
    change = AddressChange.objects.create(user=user, kind=kind, new_address=new_address, requested_by=by)
    # The addresses themselves, unlike other account fields: who redirected an account's mail, and where to.
    record(
        Action.ADDRESS_CHANGE_REQUESTED,
        actor=by,
        target=user.email,
        champ=change.field_name,
        nouvelle_adresse=new_address,
    )
    emails.address_change_requested(change)
    emails.address_change_link(change)
    return change


def confirm_address_change(token: str) -> AddressChange:
    """The new address opened its link: the change is in force, once (`LinkExpired` after, or for an older link).

    A new login address ends every session of the account. `AddressTaken`
    when another account took that login address since the request.
    """
    with transaction.atomic():
        change = AddressChange.objects.confirmable().select_for_update().from_token(token)
        if change is None:
            raise LinkExpired
        user = User.objects.select_for_update().get(pk=change.user_id)
        old_address = getattr(user, change.field_name)
        setattr(user, change.field_name, change.new_address)
        try:
            with transaction.atomic():
                user.save(update_fields=[change.field_name])
        except IntegrityError:
            raise AddressTaken from None
        change.confirmed_at = timezone.now()
        change.save(update_fields=["confirmed_at"])
        if change.kind == AddressChange.Kind.LOGIN:
            user.end_sessions()
        record(
            Action.ADDRESS_CHANGED,
            actor=user,
            target=user.email,
            champ=change.field_name,
            ancienne_adresse=old_address,
            nouvelle_adresse=change.new_address,
        )
    change.user = user
    return change
