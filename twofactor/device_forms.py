"""The forms of « Double authentification » in « Mon profil »: a device's name, an application's first code."""

from django import forms

from chorus.forms import fields_only
from chorus.validators import squeeze_spaces
from twofactor.enrolment import APPLICATION_NAME

NAME_LENGTH = 64
WRONG_FIRST_CODE = (
    "Ce code ne correspond pas à la clé affichée. Vérifiez que l'application a bien enregistré la clé de cette page "
    "et que l'heure du téléphone est juste, puis saisissez le code affiché maintenant."
)


def too_soon(seconds: int) -> str:
    """A code typed during the wait that follows a wrong one: it was not checked."""
    unit = "seconde" if seconds == 1 else "secondes"
    return (
        f"Après un code erroné, le suivant n'est vérifié qu'après un court délai : patientez {seconds} {unit}, "
        "puis saisissez le code que l'application affiche à ce moment-là."
    )


class DeviceNameField(forms.CharField):
    """« Nom de l'appareil »: what the user calls it in the list (« Téléphone de Jeanne »), 64 characters at most."""

    def __init__(self, **kwargs):
        super().__init__(
            label="Nom de l'appareil",
            help_text="Pour le reconnaître dans la liste, par exemple « Téléphone de Jeanne ». 64 caractères au plus.",
            max_length=NAME_LENGTH,
            error_messages={
                "required": "Donnez un nom à l'appareil.",
                "max_length": f"Le nom de l'appareil ne peut pas dépasser {NAME_LENGTH} caractères.",
            },
            widget=forms.TextInput(attrs={"autocomplete": "off"}),
            **kwargs,
        )

    def clean(self, value):
        # Spaces alone are no name: squeezed before the required check.
        return super().clean(squeeze_spaces(value or ""))


class DeviceNameForm(forms.Form):
    """« Renommer »."""

    name = DeviceNameField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only()


class TotpConfirmForm(forms.Form):
    """« Ajouter une application d'authentification »: its name, and the first code it shows."""

    name = DeviceNameField(initial=APPLICATION_NAME)
    code = forms.CharField(
        label="Code à 6 chiffres affiché par l'application",
        help_text="Il change toutes les 30 secondes.",
        max_length=16,
        error_messages={"required": "Saisissez le code affiché par l'application."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "spellcheck": "false"}
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only()

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if not (code.isascii() and code.isdigit() and len(code) == 6):
            raise forms.ValidationError("Saisissez les 6 chiffres affichés par l'application.", code="format")
        return code
