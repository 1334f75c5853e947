"""Account steps that span several models and send mail, each in one transaction."""

from dataclasses import dataclass

from axes.utils import reset as forget_failed_sign_ins
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import emails
from accounts.models import User
from accounts.tokens import activation_token
from approvals import workflows as approvals
from audit.log import record
from audit.models import Action
from structures import workflows as structures
from structures.models import Structure


@dataclass(frozen=True)
class Registration:
    """What the recap page tells: the same whether or not the address was taken."""

    email: str
    first_name: str
    last_name: str
    phone: str
    contact_email: str
    siret: str
    structure_created: bool

    @property
    def attachment_requested(self) -> bool:
        return not self.structure_created


def register(
    *,
    email: str,
    first_name: str,
    last_name: str,
    siret: str,
    phone: str = "",
    contact_email: str = "",
    survey_consent: bool = False,
) -> Registration:
    """« Créer mon compte »: the account, then the structure or an attachment request.

    A new SIRET creates the structure with the user as its main manager; a
    known one files an attachment request for its manager to decide. A taken
    login address creates nothing: its owner is told by mail instead, and the
    caller shows the same recap (no account enumeration).
    """
    now = timezone.now()
    with transaction.atomic():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email,
                    first_name=first_name,
                    last_name=last_name,
                    phone=phone,
                    contact_email=contact_email,
                    survey_consent=survey_consent,
                    terms_accepted_at=now,
                    terms_version=settings.TERMS_VERSION,
                    activation_sent_at=now,
                )
        except IntegrityError:
            owner = User.objects.get(email=email)
            emails.signup_with_taken_address(owner)
            structure_created = not Structure.objects.filter(siret=siret).exists()
        else:
            structure, structure_created = structures.register_structure(siret, main_manager=user)
            if not structure_created:
                approvals.request_attachment(user=user, structure=structure)
            emails.account_summary(user, structure, structure_created=structure_created)
            emails.activation_link(user)
    return Registration(
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone=phone,
        contact_email=contact_email,
        siret=siret,
        structure_created=structure_created,
    )


class LinkExpired(Exception):
    """The activation link was used, replaced by a newer one, or is too old."""


def activate(user_id: int, token: str, password: str) -> User:
    """« SOUMETTRE »: sets the password and activates the account, once per link.

    The row lock makes two submissions of one link run one after the other;
    the second finds the account active, which voids the token.
    """
    hashed = make_password(password)  # outside the lock: hashing is the slow part
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user_id)
        if not activation_token.check_token(user, token):
            raise LinkExpired
        user.password = hashed
        user.is_active = True
        user.activated_at = timezone.now()
        user.save(update_fields=["password", "is_active", "activated_at"])
        record(Action.ACTIVATED, actor=user)
    return user


def resend_activation(email: str) -> None:
    """Sends a new link (voiding older ones) if this address awaits activation.

    Says nothing either way: the caller answers the same for any address.
    """
    with transaction.atomic():
        user = User.objects.awaiting_activation().select_for_update().filter(email=email).first()
        if user is None:
            return
        user.activation_sent_at = timezone.now()
        user.save(update_fields=["activation_sent_at"])
        emails.activation_link(user)


def forgot_password(email: str) -> None:
    """« Mot de passe oublié »: a reset link to the login address of an active account.

    An account never activated has no password to reset: it gets a new
    activation link instead. Says nothing either way: the caller answers the
    same for any address.
    """
    if User.objects.awaiting_activation().filter(email=email).exists():
        resend_activation(email)
        return
    with transaction.atomic():
        user = User.objects.filter(email=email, is_active=True).first()
        if user is not None and user.has_usable_password():
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
    """« Mot de passe oublié », from the mailed link: the new password, which ends the user's sessions."""
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
    """
    with transaction.atomic():
        user.save()
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
