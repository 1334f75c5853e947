import time
from dataclasses import asdict, fields
from urllib.parse import urlencode

from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.contrib.messages.views import SuccessMessageMixin
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts import forms, workflows
from accounts.models import AddressChange
from accounts.throttling import current_lockout
from accounts.tokens import activation_token, reset_token
from chorus import reauth, throttling
from chorus.forms import posted
from structures.models import Membership
from twofactor import devices as second_factor_devices
from twofactor import views as second_factor
from twofactor import webauthn as second_factor_keys
from twofactor import workflows as second_factor_workflows
from twofactor.forms import wrong_code
from twofactor.models import RecoveryCodeDevice

THROTTLED = "Trop de tentatives depuis votre connexion. Réessayez dans une heure."


def signup(request):
    """« Créer un compte » (memento, step 1)."""
    if request.user.is_authenticated:
        return redirect("home")
    form = forms.SignupForm(posted(request)[0])
    if request.method == "POST":
        if not throttling.allow(request, "signup"):
            form.add_error(None, THROTTLED)
        elif form.is_valid():
            request.session["registration"] = asdict(form.save())
            return redirect("accounts:signup_done")
    return render(request, "accounts/signup.html", {"form": form})


@never_cache
def signup_done(request):
    """The recap page (« écran récapitulatif »)."""
    data = request.session.get("registration")
    if data is None or data.keys() != {field.name for field in fields(workflows.Registration)}:
        return redirect("accounts:signup")  # none, or one stored by an older version of the page
    return render(request, "accounts/signup_done.html", {"registration": workflows.Registration(**data)})


class ActivateView(auth_views.PasswordResetConfirmView):
    """« Activer votre compte »: the link's token leaves the URL, then the password is set."""

    form_class = forms.ActivationForm
    token_generator = activation_token
    template_name = "accounts/activate.html"
    reset_url_token = "mot-de-passe"

    def form_valid(self, form):
        try:
            form.save(token=self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, ""), sign_in=self.sign_in)
        except workflows.LinkExpired:
            return redirect("accounts:activation_invalid")
        messages.success(self.request, "Votre compte est activé. Bienvenue sur le portail !")
        return redirect("home")

    def sign_in(self, user):
        """In the activation's transaction (`workflows.activate`): the browser is signed in, its new session saved."""
        login(self.request, user, backend="django.contrib.auth.backends.ModelBackend")
        # The link came to the login address, as the e-mail code would have: it is the second factor.
        second_factor_workflows.verified_by_mailed_link(self.request, user)
        reauth.mark(self.request)
        save_session(self.request)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["resend_form"] = forms.LoginAddressForm()
        return context


def activation_invalid(request):
    return render(request, "accounts/activate.html", {"validlink": False, "resend_form": forms.LoginAddressForm()})


def resend_activation(request):
    """« Recevoir un nouveau lien »: the same answer whether or not the address awaits one."""
    form = forms.LoginAddressForm(posted(request)[0])
    if request.method == "POST":
        if not throttling.allow(request, "resend"):
            form.add_error(None, THROTTLED)
        elif form.is_valid():
            workflows.ask_for_activation_link(form.cleaned_data["email"])
            return redirect("accounts:resend_activation_done")
    return render(request, "accounts/resend_activation.html", {"form": form})


def resend_activation_done(request):
    return render(request, "accounts/resend_activation_done.html")


class LoginView(auth_views.LoginView):
    form_class = forms.LoginForm
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        """A right password signs in halfway: the second factor comes next (`twofactor`), and the password
        counts as typed again (`chorus.reauth`) only once it has passed.

        One transaction for what the sign-in writes (`last_login`, the audit row, the code and its mail, the new
        session): one commit rather than one each."""
        with transaction.atomic():
            super().form_valid(form)
            response = second_factor.start(self.request, self.get_success_url())
            save_session(self.request)
        return response


def save_session(request) -> None:
    """Saves the session now, in the step's transaction, rather than in a transaction of its own once the response
    is ready: SessionMiddleware's save then writes nothing, unless the session changed since (`accounts.sessions`)."""
    request.session.save()


def locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once a password is refused unchecked (AXES_LOCKOUT_CALLABLE), on any page that asks it.

    Says what is locked (the account, the visitor's address), until when, and offers the reset link.
    """
    return render(
        request,
        "accounts/locked_out.html",
        {"lockout": current_lockout(request, credentials)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


def password_reset(request):
    """« Mot de passe oublié »: the same answer whether or not the address has an account."""
    form = forms.LoginAddressForm(posted(request)[0])
    if request.method == "POST":
        if not throttling.allow(request, "reset"):
            form.add_error(None, THROTTLED)
        elif form.is_valid():
            workflows.forgot_password(form.cleaned_data["email"])
            return redirect("accounts:password_reset_done")
    return render(request, "accounts/password_reset.html", {"form": form})


class PasswordResetConfirmView(SuccessMessageMixin, auth_views.PasswordResetConfirmView):
    form_class = forms.ResetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:login")
    success_message = "Votre mot de passe est changé. Connectez-vous avec le nouveau."
    reset_url_token = "nouveau-mot-de-passe"
    token_generator = reset_token


class PasswordChangeView(SuccessMessageMixin, auth_views.PasswordChangeView):
    form_class = forms.ChangePasswordForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")
    success_message = "Votre mot de passe est changé."

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


@login_required
def profile(request):
    form = forms.ProfileForm(posted(request)[0], instance=request.user)
    if form.is_valid():
        form.save()
        messages.success(request, "Vos informations sont enregistrées.")
        return redirect("accounts:profile")
    pending = AddressChange.objects.confirmable().filter(user=request.user, kind=AddressChange.Kind.CONTACT).first()
    return render(request, "accounts/profile.html", {"form": form, "pending_contact_change": pending})


@login_required
def contact_email_change(request):
    """« Changer l'e-mail du contact »: the password typed again, then a link to the new address."""
    if not reauth.is_recent(request):
        return reauth.ask(request)
    form = forms.ContactEmailForm(request.user, posted(request)[0])
    if request.method == "POST":
        if not throttling.allow(request, "address_change", who=f"user:{request.user.pk}"):
            form.add_error(None, "Vous avez demandé plusieurs changements cette heure-ci. Réessayez dans une heure.")
        elif form.is_valid():
            change = form.save()
            messages.info(
                request,
                f"Un lien de confirmation est envoyé à {change.confirming_address}. Votre e-mail du contact "
                "changera quand vous l'aurez ouvert, dans les 60 minutes.",
            )
            return redirect("accounts:profile")
    return render(request, "accounts/contact_email_change.html", {"form": form})


ADDRESS_CHANGE_SESSION_KEY = "_address_change_token"
ADDRESS_CHANGE_URL_TOKEN = "nouvelle-adresse"


@never_cache
def confirm_address_change(request, token):
    """The link mailed to a new address: its token moves into the session (off the URL, hence off any
    Referer) before the page renders, as for activation; « Confirmer » then puts the change in force."""
    if token != ADDRESS_CHANGE_URL_TOKEN:
        request.session[ADDRESS_CHANGE_SESSION_KEY] = token
        return redirect("accounts:confirm_address_change", token=ADDRESS_CHANGE_URL_TOKEN)
    token = request.session.get(ADDRESS_CHANGE_SESSION_KEY, "")
    change = AddressChange.objects.confirmable().select_related("user").from_token(token)
    if change is not None and request.method == "POST":
        try:
            change = workflows.confirm_address_change(token)
        except workflows.LinkExpired:
            change = None
        except workflows.AddressTaken:
            return render(request, "accounts/confirm_address_change.html", {"change": change, "taken": True})
        else:
            request.session.pop(ADDRESS_CHANGE_SESSION_KEY, None)
            if change.kind == AddressChange.Kind.LOGIN:
                messages.success(
                    request, f"Votre adresse de connexion est désormais {change.new_address}. Connectez-vous avec elle."
                )
                return redirect("accounts:login")
            messages.success(request, f"Les notifications du portail vont désormais à {change.confirming_address}.")
            return redirect("accounts:profile")
    if change is None:
        # A link opened again after « Confirmer » must not read as if nothing had changed.
        used = AddressChange.objects.filter(confirmed_at__isnull=False).from_token(token)
        return render(request, "accounts/confirm_address_change.html", {"confirmed": used})
    return render(request, "accounts/confirm_address_change.html", {"change": change})


@login_required
def deactivate(request):
    form = forms.DeactivateForm(request, posted(request)[0])
    if form.is_valid():
        form.save()
        logout(request)
        messages.info(request, "Votre compte est désactivé.")
        return redirect("home")
    return render(request, "accounts/deactivate.html", {"form": form})


# When the password was typed on « Confirmez votre identité »: the second factor must follow within the window.
PASSWORD_TYPED_KEY = "identity_password_typed_at"


@login_required
@never_cache
def confirm_password(request):
    """« Confirmez votre identité »: the password, then the second factor, then back to the step that asked.

    Two steps, as at sign-in: the code by e-mail is mailed once the password is right, never on opening the page,
    so that a stolen session cannot fill the user's mailbox with codes, nor learn which devices they have. Both
    steps fall within one window (`REAUTHENTICATION_MAX_AGE`), and both count in the account's lockout.
    """
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("home")
    if "password" not in request.POST and _password_typed_recently(request):
        return _confirm_second_factor(request, next_url)
    if request.method == "POST" and "password" not in request.POST:
        minutes = settings.REAUTHENTICATION_MAX_AGE // 60
        messages.warning(
            request,
            f"Saisissez de nouveau votre mot de passe : la double authentification doit suivre dans les {minutes} "
            "minutes.",
        )
        return redirect(_confirm_url(next_url))
    form = forms.ConfirmPasswordForm(request, posted(request)[0])
    if form.is_valid():
        request.session[PASSWORD_TYPED_KEY] = int(time.time())
        device = _identity_device(request)
        if isinstance(device, EmailDevice):
            second_factor_workflows.send_code(request, device)
        return redirect(_confirm_url(next_url))
    return _render_confirm(request, next_url, {"form": form, "step": "password"})


def _password_typed_recently(request) -> bool:
    typed_at = request.session.get(PASSWORD_TYPED_KEY)
    return isinstance(typed_at, int) and time.time() - typed_at < settings.REAUTHENTICATION_MAX_AGE


def _confirm_url(next_url: str, device=None) -> str:
    query = {"next": next_url, **({"appareil": device.persistent_id} if device is not None else {})}
    return f"{reverse('accounts:confirm_password')}?{urlencode(query)}"


def _identity_device(request):
    """The device asked: the one chosen on the page, else the one the session signed in with, else the default.

    A recovery code is asked only when chosen: it serves once, and the session's device is at hand.
    """
    user = request.user
    chosen = request.POST.get("device") or request.GET.get("appareil", "")
    if chosen and (device := second_factor_devices.find(user, chosen)) is not None:
        return device
    device = getattr(user, "otp_device", None)
    if device is not None and not isinstance(device, RecoveryCodeDevice):
        return device
    return second_factor_devices.default_device(user)


def _confirm_second_factor(request, next_url: str):
    user = request.user
    device = _identity_device(request)
    if "resend" in request.POST:
        return _send_identity_code(request, next_url)
    security_key = isinstance(device, WebAuthnCredential)
    form = forms.ConfirmCodeForm(
        None if security_key else posted(request)[0], recovery=isinstance(device, RecoveryCodeDevice)
    )
    try:
        if security_key and "assertion" in request.POST:
            if second_factor_keys.confirm_identity(request) is not None:
                return _identity_confirmed(request, next_url)
            messages.error(request, second_factor_keys.KEY_REFUSED)
            return redirect(_confirm_url(next_url, device))
        if form.is_valid():
            try:
                if second_factor_workflows.confirm_identity(request, device, form.cleaned_data["code"]):
                    return _identity_confirmed(request, next_url)
                form.add_error("code", wrong_code(device))
            except second_factor_workflows.TooSoon:
                form.add_error("code", second_factor.TOO_SOON)
    except second_factor_workflows.Locked:
        return get_lockout_response(request, None, {settings.AXES_USERNAME_FORM_FIELD: user.email})
    others = second_factor_devices.alternatives(user, device)
    context = {
        "form": form,
        "step": "second_factor",
        "device": device,
        "device_label": second_factor_devices.describe(device),
        "by_email": isinstance(device, EmailDevice),
        "recovery": isinstance(device, RecoveryCodeDevice),
        "security_key": security_key,
        "key_action": _confirm_url(next_url, device),
        # The e-mail code is offered as a button that mails it; the other devices as links.
        "others": [
            (second_factor_devices.describe(d), _confirm_url(next_url, d), isinstance(d, EmailDevice)) for d in others
        ],
    }
    return _render_confirm(request, next_url, context)


def _identity_confirmed(request, next_url: str):
    request.session.pop(PASSWORD_TYPED_KEY, None)
    reauth.mark(request)
    return redirect(next_url)


def _send_identity_code(request, next_url: str):
    """« Recevoir un code »: to the login address, at most one a minute and a few an hour, as at sign-in."""
    user = request.user
    device = second_factor_devices.email_device(user)
    if not throttling.allow(request, "second_factor_code", who=f"user:{user.pk}"):
        messages.error(request, second_factor.TOO_MANY_CODES)
    elif second_factor_workflows.send_code(request, device):
        messages.success(request, f"Un code est envoyé à {user.email}. Il remplace le précédent.")
    else:
        messages.info(request, "Un code vient de vous être envoyé : attendez une minute avant d'en demander un autre.")
    return redirect(_confirm_url(next_url, device))


def _render_confirm(request, next_url: str, context: dict):
    # « Annuler » goes back to the part of the portal that asked: the profile for its own steps, else the structures.
    profile = reverse("accounts:profile")
    cancel_url = profile if next_url.startswith(profile) else reverse("structures:structure_list")
    return render(
        request,
        "accounts/confirm_password.html",
        {**context, "next": next_url, "cancel_url": cancel_url, "minutes": settings.REAUTHENTICATION_MAX_AGE // 60},
    )


@require_POST
def sign_out(request):
    """« Se déconnecter »: on every device, not only this one (`accounts.receivers`)."""
    logout(request)
    messages.info(request, "Vous êtes déconnecté.")
    return redirect("home")


@login_required
def resend_member_activation(request, membership_pk):
    """A structure's manager sends a new activation link to one of its users who never activated.

    A GET (back from sign-in after the session ended) sends nothing and shows the users again.
    """
    membership = get_object_or_404(
        Membership.objects.managed_by(request.user).select_related("user"),
        pk=membership_pk,
    )
    member = membership.user
    if request.method == "POST":
        if member.has_activated:
            messages.info(request, f"{member.get_full_name()} a déjà activé son compte.")
        elif not throttling.allow(request, "resend", who=f"user:{member.pk}"):
            messages.error(request, f"Plusieurs liens ont déjà été envoyés à {member.get_full_name()} cette heure-ci.")
        else:
            workflows.resend_activation(member.email)
            messages.success(
                request, f"Un nouveau lien d'activation est envoyé à {member.get_full_name()} ({member.email})."
            )
    return redirect("structures:structure_users", pk=membership.structure_id)
