from django import forms
from django_otp.plugins.otp_totp.models import TOTPDevice

from chorus.forms import fields_only
from twofactor.models import RecoveryCodeDevice

WRONG_CODE = "Code incorrect ou expiré. Vérifiez le dernier code reçu, ou demandez-en un nouveau."
WRONG_APPLICATION_CODE = (
    "Code incorrect. Saisissez le code que votre application affiche maintenant : il change toutes les 30 secondes."
)
WRONG_RECOVERY_CODE = "Ce code de secours est incorrect ou a déjà servi : chaque code ne sert qu'une fois."


def wrong_code(device) -> str:
    """The refusal in the words of the device: there is no « dernier code reçu » for an application."""
    if isinstance(device, TOTPDevice):
        return WRONG_APPLICATION_CODE
    if isinstance(device, RecoveryCodeDevice):
        return WRONG_RECOVERY_CODE
    return WRONG_CODE


class CodeForm(forms.Form):
    """The second step of sign-in: the code of one device, and whether to trust this browser."""

    code = forms.CharField(
        label="Code de vérification",
        max_length=64,
        error_messages={"required": "Saisissez le code."},
    )
    trust = forms.BooleanField(label="Faire confiance à cet appareil pendant 30 jours", required=False)

    def __init__(self, *args, recovery: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        code = self.fields["code"]
        if recovery:
            code.label = "Code de secours"
            code.help_text = "L'un des 10 codes de secours remis à l'ajout de votre application ou de votre clé."
            code.widget.attrs.update(autocomplete="off", autocapitalize="characters", spellcheck="false")
        else:
            code.help_text = "6 chiffres."
            code.widget.attrs.update(autocomplete="one-time-code", inputmode="numeric", pattern="[0-9 ]*")
        code.widget.attrs["autofocus"] = True
        self.fields["trust"].help_text = (
            "Ne cochez pas sur un ordinateur partagé. Changer votre mot de passe ou « Oublier tous les appareils » "
            "retire cette confiance."
        )
        self.helper = fields_only()
