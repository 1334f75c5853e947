"""« Mon profil » → « Double authentification »: the user's devices, an application added, recovery codes.

Every device is looked up among the signed-in user's own (`twofactor.devices.find`): another
account's, or one that is not of a kind the action applies to, is a 404. What hands out a way in
(an application, new recovery codes) or takes one away asks for a recent re-authentication.
"""

from base64 import b32encode

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from chorus import reauth
from chorus.forms import posted
from twofactor import enrolment
from twofactor.device_forms import WRONG_FIRST_CODE, DeviceNameForm, TotpConfirmForm, too_soon
from twofactor.devices import default_device, describe, devices_of, find, has_strong_device, recovery_device
from twofactor.models import RecoveryCodeDevice

# The codes just issued, kept in the session until the « Codes de secours » page shows them, once.
FRESH_CODES_SESSION_KEY = "twofactor_fresh_recovery_codes"
DEVICES = "twofactor:devices"


def hand_over_codes(request, codes: list[str]):
    """After a step that issued recovery codes: their page, which shows them once."""
    request.session[FRESH_CODES_SESSION_KEY] = codes
    return redirect("twofactor:recovery_codes")


def _device(request, kind: str, pk: int, *, own: bool = True):
    """The signed-in user's device `kind/pk`; with `own`, an application or a key only. 404 otherwise."""
    device = find(request.user, f"{kind}/{pk}")
    if device is None or isinstance(device, RecoveryCodeDevice) or (own and not enrolment.is_own(device)):
        raise Http404
    return device


@login_required
@never_cache
def devices(request):
    """« Double authentification »: the devices, the recovery codes, the trusted browsers."""
    user = request.user
    chosen = default_device(user)
    rows = [
        {
            "device": device,
            "label": describe(device),
            "is_default": device.persistent_id == chosen.persistent_id,
            "by_email": isinstance(device, EmailDevice),
            "own": enrolment.is_own(device),
            "kind": device.model_label(),
        }
        for device in devices_of(user)
    ]
    recovery = recovery_device(user)
    return render(
        request,
        "twofactor/devices.html",
        {
            "rows": rows,
            "has_strong_device": has_strong_device(user),
            "recovery_codes_left": recovery.codes.count() if recovery is not None else None,
            "webauthn_available": True,
        },
    )


def qr_code(device: TOTPDevice) -> str:
    """The application's key as a QR code, inline SVG drawn by segno: no image URL, no script, no style
    attribute, so the page needs no exception to its Content Security Policy. Black on white, whatever the
    page's theme, for the phone's camera."""
    svg = segno.make(device.config_url, error="m").svg_inline(scale=5, light="#fff", svgclass="twofactor-qr")
    label = "QR code de la clé à scanner avec votre application d'authentification"
    # segno writes the modules' path and the attributes given here; the encoded URL (which carries the
    # login address) is drawn, never written as text: the markup holds nothing that a user typed.
    drawing = mark_safe(svg.removeprefix("<svg "))  # noqa: S308
    return format_html('<svg role="img" aria-label="{}" {}', label, drawing)


def key_in_groups(device: TOTPDevice) -> str:
    """« ABCD EFGH … »: the key as applications ask for it (base 32), by groups of 4 to copy without a slip."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


@login_required
@never_cache
def totp_add(request):
    """« Ajouter une application d'authentification »: the key (QR code and text), then its first code."""
    if not reauth.is_recent(request):
        return reauth.ask(request)
    device = enrolment.add_totp(request.user)
    form = TotpConfirmForm(*posted(request))
    if form.is_valid():
        try:
            codes = enrolment.confirm_totp(
                request, device, name=form.cleaned_data["name"], code=form.cleaned_data["code"]
            )
        except enrolment.WrongCode as wrong:
            form.add_error("code", too_soon(wrong.wait) if wrong.wait else WRONG_FIRST_CODE)
            device = enrolment.add_totp(request.user)  # the same key, or a new one if it just expired
        else:
            messages.success(
                request,
                f"L'application « {form.cleaned_data['name']} » est ajoutée. Un courriel vous le confirme.",
            )
            return hand_over_codes(request, codes) if codes else redirect(DEVICES)
    return render(
        request,
        "twofactor/totp_add.html",
        {"form": form, "qr_code": qr_code(device), "key": key_in_groups(device)},
    )


@login_required
@never_cache
def recovery_codes(request):
    """« Codes de secours »: the codes just issued, shown this once (the database keeps only their digests)."""
    codes = request.session.pop(FRESH_CODES_SESSION_KEY, None)
    if not codes:
        messages.info(
            request,
            "Les codes de secours ne s'affichent qu'une fois, juste après leur création. "
            "Si vous ne les avez plus, générez-en de nouveaux.",
        )
        return redirect(DEVICES)
    return render(request, "twofactor/recovery_codes.html", {"codes": codes})


@login_required
@require_POST
def recovery_codes_regenerate(request):
    """« Générer de nouveaux codes de secours »: the older ones stop working at once."""
    if not reauth.is_recent(request):
        return reauth.ask(request, reverse(DEVICES))
    try:
        codes = enrolment.issue_recovery_codes(request)
    except enrolment.NoStrongDevice:
        messages.error(
            request, "Les codes de secours s'obtiennent avec une application d'authentification ou une clé de sécurité."
        )
        return redirect(DEVICES)
    return hand_over_codes(request, codes)


@login_required
def device_rename(request, kind, pk):
    device = _device(request, kind, pk)
    form = DeviceNameForm(*posted(request), initial={"name": device.name})
    if form.is_valid():
        if enrolment.rename(request, device, form.cleaned_data["name"]):
            messages.success(request, f"L'appareil s'appelle désormais « {device.name} ».")
        return redirect(DEVICES)
    return render(request, "twofactor/device_rename.html", {"form": form, "label": describe(device)})


@login_required
@require_POST
def device_make_default(request, kind, pk):
    device = _device(request, kind, pk, own=False)
    enrolment.make_default(request, device)
    messages.success(
        request, f"Moyen par défaut : {describe(device)}. Il vous sera demandé en premier à votre prochaine connexion."
    )
    return redirect(DEVICES)


@login_required
def device_remove(request, kind, pk):
    """« Supprimer »: after a recent re-authentication; the last application or key takes the recovery codes."""
    device = _device(request, kind, pk)
    if not reauth.is_recent(request):
        return reauth.ask(request, None if request.method == "GET" else reverse(DEVICES))
    label = describe(device)
    if request.method == "POST":
        codes_removed = enrolment.remove(request, device)
        message = f"Moyen supprimé : {label}."
        if codes_removed:
            message += (
                " C'était votre dernière application ou clé : vos codes de secours sont supprimés aussi, "
                "et le code par courriel vous sera demandé."
            )
        messages.success(request, message)
        return redirect(DEVICES)
    others = [d for d in devices_of(request.user) if enrolment.is_own(d) and d.persistent_id != device.persistent_id]
    return render(
        request,
        "twofactor/device_remove.html",
        {"device": device, "label": label, "last_strong": not others},
    )
