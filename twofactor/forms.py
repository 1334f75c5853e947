from django import forms

from chorus.forms import fields_only

WRONG_CODE = "Code incorrect ou expiré. Vérifiez le dernier code reçu, ou demandez-en un nouveau."


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
