"""« Double authentification » at sign-in: the code of a device, after a right password."""

from urllib.parse import urlencode

from axes.helpers import get_lockout_response
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from chorus import reauth, throttling
from chorus.forms import posted
from twofactor import trust, workflows
from twofactor.devices import alternatives, default_device, describe, devices_of, find, strongest_device
from twofactor.forms import CodeForm, wrong_code
from twofactor.models import RecoveryCodeDevice

STEP_UP = "renforcer"
TOO_SOON = "Après un code erroné, patientez quelques secondes avant de réessayer : ce code n'a pas été vérifié."
TOO_MANY_CODES = "Vous avez demandé beaucoup de codes cette heure-ci. Utilisez le dernier reçu, ou réessayez plus tard."


def verify_url(next_url: str, device=None) -> str:
    query = {"next": next_url}
    if device is not None:
        query["appareil"] = device.persistent_id
    return f"{reverse('twofactor:verify')}?{urlencode(query)}"


def start(request, next_url: str):
    """Right after a right password: a browser the user trusted goes on (`twofactor.trust`); elsewhere the default
    device's code is asked (and mailed, for the e-mail code). A cookie that does not open this account is deleted."""
    cookie = request.COOKIES.get(trust.COOKIE_NAME)
    if (trusted := trust.trusted_device(request.user, cookie)) is not None:
        workflows.trusted_sign_in(request, trusted)
        return redirect(next_url)
    device = default_device(request.user)
    if isinstance(device, EmailDevice):
        workflows.send_code(request, device)
    response = redirect(verify_url(next_url))
    if cookie is not None:
        trust.forget(response)
    return response


def safe_next(request) -> str:
    """Where to go once the step is done: the `next` posted or in the address, if it stays on the portal."""
    next_url = request.POST.get("next") or request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        return next_url
    return reverse("home")


def _chosen_device(request):
    """The device named in the form or the address, if it is the user's; else the default one."""
    chosen = request.POST.get("device") or request.GET.get("appareil", "")
    return (find(request.user, chosen) if chosen else None) or default_device(request.user)


@never_cache
def verify(request):
    """« Double authentification »: the code of the default device, or of another the user picks."""
    user = request.user
    if not user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    next_url = safe_next(request)
    # Verified already: only a change of device shows the page again, the one chosen or, for the admin, which asks
    # for a stronger one than the e-mail code, the strongest (`?renforcer`).
    step_up = STEP_UP in request.GET
    if user.is_verified() and "appareil" not in request.GET and not step_up and request.method != "POST":
        return redirect(next_url)
    device = _chosen_device(request)
    if step_up and "appareil" not in request.GET and (strong := strongest_device(user)) is not None:
        device = strong
    form = CodeForm(posted(request)[0], recovery=isinstance(device, RecoveryCodeDevice))
    # Right after the password, the code completes a sign-in that counts as the password just typed; in a session
    # verified already (another device for the admin), a code stands for no password (`chorus.reauth`).
    at_sign_in = not user.is_verified()
    if form.is_valid():
        try:
            passed = workflows.verify(request, device, form.cleaned_data["code"])
        except workflows.Locked:
            credentials = {settings.AXES_USERNAME_FORM_FIELD: user.email}
            request.session.flush()  # this browser's half-open session only: the account's others stay
            request.user = AnonymousUser()  # the lockout page speaks of signing in, not of a password to retype
            return get_lockout_response(request, None, credentials)
        except workflows.TooSoon:
            form.add_error("code", TOO_SOON)
            passed = None
        if passed:
            if at_sign_in:
                reauth.mark(request)
            response = redirect(next_url)
            if form.cleaned_data["trust"]:
                trust.remember(request, response, user, device)
            return response
        elif passed is False:
            form.add_error("code", wrong_code(device))
    others = alternatives(user, device)
    return render(
        request,
        "twofactor/verify.html",
        {
            "form": form,
            "device": device,
            "device_label": describe(device),
            "by_email": isinstance(device, EmailDevice),
            "code_sent": isinstance(device, EmailDevice) and workflows.has_usable_code(device),
            "application": isinstance(device, TOTPDevice),
            "recovery": isinstance(device, RecoveryCodeDevice),
            "webauthn": isinstance(device, WebAuthnCredential),  # no code to type: twofactor/webauthn.py
            "others": [(d, describe(d), verify_url(next_url, d)) for d in others],
            "next": next_url,
        },
    )


@require_POST
def send_code(request):
    """« Recevoir un nouveau code »: to the login address, at most one a minute and a few an hour."""
    user = request.user
    next_url = safe_next(request)
    if not user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    device = next((d for d in devices_of(user) if isinstance(d, EmailDevice)), None)
    if not throttling.allow(request, "second_factor_code", who=f"user:{user.pk}"):
        messages.error(request, TOO_MANY_CODES)
    elif workflows.send_code(request, device):
        messages.success(request, f"Un nouveau code est envoyé à {user.email}. Il remplace le précédent.")
    else:
        messages.info(
            request, "Le dernier code envoyé est encore valable : utilisez-le, ou attendez une minute pour un autre."
        )
    return redirect(verify_url(next_url, device))


@require_POST
@login_required
def forget_trusted(request):
    """« Oublier tous les appareils »: every trusted browser, this one included, asks for the second factor again."""
    workflows.forget_trusted_devices(request.user)
    messages.success(
        request,
        "Aucun appareil n'est plus de confiance : la double authentification sera demandée à la prochaine connexion, "
        "sur chacun d'eux.",
    )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("accounts:profile")
    response = redirect(next_url)
    trust.forget(response)
    return response
