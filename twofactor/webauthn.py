"""Security keys and passkeys (WebAuthn) as a second factor, on django-otp-webauthn's ceremonies.

The library's views are wrapped here, its URLs not included: a key is a second factor only (the
signed-in user's own keys, after the password; `OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN` is off); the
key's answer is judged under the rules of a code (a refused answer counts in the account's lockout; a
right one verifies the session, cycles its key, clears the failures, counts as the password typed
again and is audited); a key is added from a verified session with a recent password, named, audited,
announced by mail, and brings recovery codes to whoever had none.

Each ceremony has two halves. « begin » (JSON, fetched by static/js/webauthn.js) checks what can be
checked before the browser asks for the key, and answers with a challenge kept in the session. The
browser then talks to the key and posts its answer in an ordinary form to the second half, so that the
outcome is a page (a redirect with its message, the lockout page), as for a code.
"""

import json
from urllib.parse import urlencode

from axes.helpers import get_lockout_response
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp_webauthn import exceptions
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.utils import rewrite_exceptions
from django_otp_webauthn.views import BeginCredentialAuthenticationView, BeginCredentialRegistrationView
from webauthn.helpers.exceptions import WebAuthnException

from chorus import reauth
from twofactor import enrolment, trust, workflows
from twofactor.device_forms import DeviceNameField
from twofactor.device_views import hand_over_codes
from twofactor.devices import find, settings_of
from twofactor.models import SecondFactor
from twofactor.views import safe_next, verify_url

# Where the library's views keep a ceremony's challenge; each is taken out of the session once, used or not.
REGISTRATION_STATE = "otp_webauthn_register_state"
AUTHENTICATION_STATE = "otp_webauthn_authentication_state"

KEY_REFUSED = (
    "Votre clé n'a pas été reconnue : rien n'a été enregistré. Réessayez avec la clé ajoutée à votre compte, "
    "ou utilisez un autre moyen."
)
KEY_NOT_ADDED = (
    "La clé n'a pas pu être ajoutée : sa réponse n'a pas été acceptée. Réessayez, ou essayez une autre clé ; "
    "rien n'a été enregistré."
)
START_AGAIN = "Le délai pour utiliser la clé est dépassé, ou la page a été ouverte ailleurs : recommencez."
# The library's refusals, in French (it ships no French of its own); `code` is its, the sentence the page's.
REFUSALS = {
    "not_authenticated": "Votre session a expiré : reconnectez-vous, puis recommencez.",
    "passwordless_login_disabled": "Votre session a expiré : reconnectez-vous, puis recommencez.",
    "user_not_verified": "Passez d'abord la double authentification, puis recommencez.",
    "user_disabled": "Ce compte est désactivé.",
}
REFUSED = "La demande n'a pas abouti. Rechargez la page, puis recommencez."
KEY_NAME = "Clé de sécurité"


class Refusal(exceptions.OTPWebAuthnApiError):
    """A « begin » refused with a French sentence for the page, and where to go when the page cannot help."""

    status_code = 400
    default_code = "refused"

    def __init__(self, detail, code=None, redirect_to: str = "", status: int = 400):
        super().__init__(detail, code)
        self.redirect_to = redirect_to
        self.status_code = status


class KeyNameForm(forms.Form):
    """« Nom de la clé »: how the user tells their keys apart in the list, as for an application."""

    name = DeviceNameField(initial=KEY_NAME)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Nom de la clé"


class NewKeyForm(KeyNameForm):
    """The second half of « Ajouter une clé de sécurité »: the name again, and the key's answer (JSON)."""

    credential = forms.CharField(max_length=20_000, error_messages={"required": START_AGAIN})

    def clean_credential(self) -> dict:
        try:
            answer = json.loads(self.cleaned_data["credential"])
        except ValueError:
            raise forms.ValidationError(KEY_NOT_ADDED) from None
        if not isinstance(answer, dict):
            raise forms.ValidationError(KEY_NOT_ADDED)
        return answer


def _helper(request):
    return WebAuthnCredential.get_webauthn_helper(request=request)


def _devices_url() -> str:
    return reverse("twofactor:devices")


class _Begin:
    """The « begin » half: POST only, and a refusal is a French sentence (`detail`) for the page to show."""

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return self.http_method_not_allowed(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def handle_exception(self, exc):
        if not isinstance(exc, exceptions.OTPWebAuthnApiError):
            raise exc
        body = {"code": exc.code, "detail": str(exc) if isinstance(exc, Refusal) else REFUSALS.get(exc.code, REFUSED)}
        if getattr(exc, "redirect_to", ""):
            body["redirect"] = exc.redirect_to
        return JsonResponse(body, status=exc.status_code)


class BeginRegistration(_Begin, BeginCredentialRegistrationView):
    """« Ajouter une clé de sécurité », first half: the name is checked before the browser asks for the key."""

    def user_is_mfa_enrolled(self, user) -> bool:
        """Every account has the e-mail code: a key is added only from a session that passed a second factor."""
        return True

    def check_can_register(self):
        """As for bank details, the password typed lately: a stolen session must not add a key of its own."""
        if not reauth.is_recent(self.request):
            query = urlencode({"next": _devices_url()})
            raise Refusal(
                "Pour votre sécurité, confirmez votre mot de passe avant d'ajouter une clé.",
                code="password_needed",
                redirect_to=f"{reverse(settings.REAUTHENTICATION_URL)}?{query}",
                status=403,
            )
        form = KeyNameForm(self.request.data)
        if not form.is_valid():
            raise Refusal(form.errors["name"][0], code="invalid_name")


class BeginVerification(_Begin, BeginCredentialAuthenticationView):
    """« Utiliser ma clé de sécurité », first half: a challenge for the signed-in user's own keys, and no one
    else's. Without a password passed there is no user, and no ceremony (no sign-in by key alone)."""

    def check_can_authenticate(self):
        user = self.request.user
        if not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        if not WebAuthnCredential.objects.filter(user=user, confirmed=True).exists():
            raise Refusal("Aucune clé de sécurité n'est enregistrée sur votre compte : utilisez un autre moyen.")


def add_key(request, state: dict, answer: dict, name: str):
    """Checks the key's answer to this session's challenge and saves the key under its name, with its audit row,
    its mail and the recovery codes of a user who had none (`enrolment.device_added`).

    Returns the key and the codes issued (empty: none). Raises the library's `OTPWebAuthnApiError` or
    py_webauthn's `WebAuthnException` when the answer is refused, `IntegrityError` for a key already on an
    account; nothing is saved then.
    """
    user = request.user
    with transaction.atomic(), rewrite_exceptions(logger=None):
        # One step of the account's devices at a time (as in `enrolment`): two keys added at once issue one set
        # of recovery codes.
        settings_of(user)
        SecondFactor.objects.select_for_update().get(user=user)
        device = _helper(request).register_complete(user=user, state=state, data=answer)
        device.name = name
        device.save(update_fields=["name"])
        codes = enrolment.device_added(request, device)
    return device, codes


@never_cache
@login_required
@require_POST
def register(request):
    """« Ajouter une clé de sécurité », second half: the key's answer checked, the key saved under its name; then
    the recovery codes, if it brought some, else the devices."""
    state = request.session.pop(REGISTRATION_STATE, None)
    if not reauth.is_recent(request):
        return reauth.ask(request, _devices_url())
    form = NewKeyForm(request.POST)
    if state is None:
        messages.error(request, START_AGAIN)
    elif not form.is_valid():
        messages.error(request, next(iter(form.errors.values()))[0])
    else:
        try:
            device, codes = add_key(request, state, form.cleaned_data["credential"], form.cleaned_data["name"])
        except (exceptions.OTPWebAuthnApiError, WebAuthnException, IntegrityError):
            # IntegrityError: a key already on an account (its id is unique), answered under another.
            messages.error(request, KEY_NOT_ADDED)
        else:
            messages.success(request, f"La clé « {device.name} » est ajoutée. Un courriel vous le confirme.")
            if codes:
                return hand_over_codes(request, codes)
    return redirect(_devices_url())


def check_key(request, state: dict, answer: str):
    """The second factor by key: the answer to this session's challenge, from one of the signed-in user's keys.

    Right, the session is verified as by a code (`workflows.verify`): a new session key, the failures cleared,
    an audit row; the key is returned. Refused (another account's key, a removed one, a forged or replayed
    answer), it counts in the lockout and None is returned. Raises `workflows.Locked` when the account is
    locked, before or because of this answer; nothing is checked then.
    """
    user = request.user
    if workflows.is_locked(request):
        raise workflows.Locked
    try:
        data = json.loads(answer)
        with transaction.atomic(), rewrite_exceptions(logger=None):
            device = _helper(request).authenticate_complete(user=user, state=state, data=data)
        if not device.confirmed:
            raise exceptions.CredentialDisabled()
    except (ValueError, TypeError, AttributeError, KeyError, exceptions.OTPWebAuthnApiError, WebAuthnException):
        workflows.failed(request)  # counted in the lockout as a wrong code is
        return None
    workflows.passed(request, device)
    return device


@never_cache
@require_POST
def verify(request):
    """« Utiliser ma clé de sécurité », second half: on the « Double authentification » page, instead of a code."""
    user = request.user
    if not user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    next_url = safe_next(request)
    back = verify_url(next_url, find(user, request.POST.get("device", "")))
    verified_before = user.is_verified()
    state = request.session.pop(AUTHENTICATION_STATE, None)
    if state is None:
        messages.error(request, START_AGAIN)
        return redirect(back)
    try:
        device = check_key(request, state, request.POST.get("assertion", ""))
    except workflows.Locked:
        credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
        request.session.flush()  # this browser's half-open session only, as for a wrong code
        return get_lockout_response(request, None, credentials)
    if device is None:
        messages.error(request, KEY_REFUSED)
        return redirect(back)
    if not verified_before:  # the password was typed just before, at sign-in; a key alone confirms no identity
        reauth.mark(request)
    response = redirect(next_url)
    if request.POST.get("trust"):
        trust.remember(request, response, user, device)
    return response


def confirm_identity(request):
    """« Confirmez votre identité » by key, once the caller has had the password typed again: the answer to the
    challenge of `BeginVerification`, judged as at sign-in (`check_key`: counted in the lockout, raises
    `workflows.Locked`). The session keeps the device it signed in with, as `workflows.confirm_identity` does.

    Returns the key, or None when refused or when no challenge was asked (then not counted: nothing was tried).
    """
    state = request.session.pop(AUTHENTICATION_STATE, None)
    if state is None:
        return None
    signed_in_with = getattr(request.user, "otp_device", None)
    device = check_key(request, state, request.POST.get("assertion", ""))
    if device is not None and signed_in_with is not None and signed_in_with.persistent_id != device.persistent_id:
        otp_login(request, signed_in_with)
    return device
