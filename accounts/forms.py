import unicodedata

from axes.utils import reset as forget_failed_sign_ins
from captcha.fields import CaptchaField, CaptchaTextInput
from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.hashers import check_password
from django.template.loader import render_to_string

from accounts import workflows
from accounts.models import User
from approvals.forms import COMMENT_MAX
from chorus.forms import fields_only
from chorus.validators import (
    PHONE_HINT,
    clean_phone_number,
    phone_for_display,
    squeeze_spaces,
    validate_email_address,
)
from structures import directory
from structures.models import Structure
from structures.validators import clean_siret
from twofactor.forms import CodeForm

SURVEY_CONSENT_LABEL = (
    "J'accepte que mon nom, prénom et adresse électronique soient utilisés par le Ministère chargé "
    "du Budget (et par le prestataire réalisant les enquêtes de satisfaction pour le compte de "
    "l'AIFE) afin de recevoir l'enquête de satisfaction sur Chorus Pro. Je note par ailleurs que je "
    "pourrai à tout moment exercer mon droit de retrait en décochant l'option."
)


TAKEN_LOGIN_ADDRESS = "Cette adresse est déjà l'adresse de connexion d'un autre compte."


def clean_person_name(value: str) -> str:
    value = squeeze_spaces(value)
    if not value:
        raise forms.ValidationError("Ce champ ne peut pas être vide.", code="required")
    return value


class EmailAddressField(forms.EmailField):
    """An e-mail field that lower-cases and refuses line breaks with a clear message."""

    default_error_messages = {
        "invalid": "Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr.",
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "email")
        self.widget.attrs.setdefault("spellcheck", "false")

    def to_python(self, value):
        """Refuses what a mail header could misread: control characters (CR, LF, but also the
        vertical tab and the file separators that Python's mail module splits lines on) and the
        quoted local parts that Django would accept (`"a,b"@x.fr` would become two recipients);
        then, with their own message, separators and look-alikes (`validate_email_address`)."""
        value = super().to_python(value)
        if '"' in value or any(unicodedata.category(character).startswith("C") for character in value):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        validate_email_address(value)
        return User.objects.normalize_email(value)


class CaptchaInput(CaptchaTextInput):
    """The captcha's typed answer, described by the field's hint and, once wrong, its error.

    Django gives a multi-widget field no `aria-describedby` (it expects a fieldset),
    so the answer box would not announce « 5 lettres » nor why it was refused.
    """

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        key, answer = context["widget"]["subwidgets"]
        key["attrs"].pop("aria-invalid", None)
        field_id = attrs["id"]
        described_by = [f"{field_id}_helptext"]
        if answer["attrs"].get("aria-invalid"):
            described_by.append(f"{field_id}_error")
        answer["attrs"]["aria-describedby"] = " ".join(described_by)
        return context


class SignupForm(forms.Form):
    """« Créer un compte »: the two blocks of the memento, then the captcha (laid out in accounts/signup.html)."""

    email = EmailAddressField(label="Adresse électronique de connexion")
    email_confirmation = EmailAddressField(label="Ressaisissez votre adresse électronique de connexion")
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    phone = forms.CharField(label="Téléphone", required=False, max_length=30, help_text=PHONE_HINT)
    contact_email = EmailAddressField(
        label="E-mail du contact",
        required=False,
        help_text="C'est sur cette adresse que vous recevrez les notifications du portail. "
        "Sans elle, elles vont à l'adresse de connexion.",
    )
    survey_consent = forms.BooleanField(label=SURVEY_CONSENT_LABEL, required=False)
    accept_terms = forms.BooleanField(
        label="J'accepte les conditions",
        error_messages={"required": "Vous devez accepter les conditions pour créer votre compte."},
    )
    identifier_type = forms.ChoiceField(
        label="Type d'identifiant", choices=Structure.IdentifierType.choices, initial=Structure.IdentifierType.SIRET
    )
    identifier = forms.CharField(
        label="Identifiant",
        max_length=40,
        help_text="Veuillez renseigner le siret de la structure. 14 chiffres, espaces acceptés.",
    )
    comment = forms.CharField(
        label="Commentaire pour le gestionnaire",
        required=False,
        max_length=COMMENT_MAX,  # the request's comment, which it becomes
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Facultatif. Lu par le gestionnaire de la structure seulement si elle est déjà inscrite sur le "
        "portail : votre inscription lui demande alors de vous y rattacher. Indiquez par exemple votre fonction, ou "
        "le centre de gestion pour lequel vous travaillez.",
    )
    captcha = CaptchaField(
        widget=CaptchaInput,
        label="Reproduisez la suite de caractères",
        help_text="5 lettres, majuscules ou minuscules.",
        error_messages={
            "invalid": "Les caractères saisis ne correspondent pas à l'image. Une nouvelle image vous est proposée.",
            "required": "Reproduisez la suite de caractères de l'image.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        autocomplete = {
            "first_name": "given-name",
            "last_name": "family-name",
            "phone": "tel",
            "identifier": "off",
        }
        for name, value in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = value
        self.fields["phone"].widget.input_type = "tel"
        required_messages = {
            "email": "Saisissez votre adresse électronique de connexion.",
            "email_confirmation": "Ressaisissez votre adresse électronique de connexion.",
            "first_name": "Saisissez votre prénom.",
            "last_name": "Saisissez votre nom.",
            "identifier_type": "Choisissez le type d'identifiant de votre structure.",
            "identifier": "Saisissez le SIRET de votre structure.",
        }
        for name, message in required_messages.items():
            self.fields[name].error_messages["required"] = message
        self.fields["accept_terms"].help_text = render_to_string("accounts/_accept_terms_help.html")
        self.fields["identifier"].widget.attrs["inputmode"] = "numeric"

    def clean_first_name(self):
        return clean_person_name(self.cleaned_data["first_name"])

    def clean_last_name(self):
        return clean_person_name(self.cleaned_data["last_name"])

    def clean_phone(self):
        return clean_phone_number(self.cleaned_data["phone"])

    def clean_identifier(self):
        siret = clean_siret(self.cleaned_data["identifier"])
        self.listing = directory.refuse_closed(siret)
        return siret

    def clean_comment(self):
        return self.cleaned_data["comment"].strip()

    def clean(self):
        cleaned = super().clean()
        email, confirmation = cleaned.get("email"), cleaned.get("email_confirmation")
        if email and confirmation and email != confirmation:
            self.add_error(
                "email_confirmation",
                forms.ValidationError(
                    "Les deux adresses électroniques de connexion ne sont pas identiques.", code="email_mismatch"
                ),
            )
        return cleaned

    def save(self) -> workflows.Registration:
        """« Créer mon compte »: the same recap whether or not the address was taken."""
        data = self.cleaned_data
        return workflows.register(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data["last_name"],
            siret=data["identifier"],
            phone=data["phone"],
            contact_email=data["contact_email"],
            survey_consent=data["survey_consent"],
            comment=data["comment"],
            listing=self.listing,
        )


SAME_PASSWORD = "Ce mot de passe est celui que vous utilisez déjà : choisissez-en un nouveau."


class RuleOnThePasswordField:
    """The password rule's errors go under the password itself, where the meter is, not its confirmation.

    The rule includes a new password: a reset or a change to the password already in use would
    leave in force the very password someone may have seen or guessed.
    """

    def validate_password_for_user(self, user, *args, **kwargs):
        super().validate_password_for_user(user, password_field_name="new_password1")
        password = self.cleaned_data.get("new_password1")
        if password and self.is_current_password(user, password):
            self.add_error("new_password1", forms.ValidationError(SAME_PASSWORD, code="password_unchanged"))

    def is_current_password(self, user, password: str) -> bool:
        """From a mailed link (the link proves the mailbox), against the stored hash: the hashers'
        `check_password`, not the user's, which would re-hash and save an outdated hash."""
        return user.has_usable_password() and check_password(password, user.password)


class NewPasswordForm(RuleOnThePasswordField, auth_forms.SetPasswordForm):
    """A new password, typed twice, with the strength meter: to activate an account or reset its password."""

    error_messages = {"password_mismatch": "Les deux mots de passe ne sont pas identiques."}
    password_labels = ("Entrez le mot de passe :", "Confirmez le mot de passe :")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        password, confirmation = self.fields["new_password1"], self.fields["new_password2"]
        password.label, confirmation.label = self.password_labels
        password.help_text = ""
        confirmation.help_text = ""
        password.widget.attrs.update({"data-password-meter": "", "autocomplete": "new-password", "maxlength": "128"})
        confirmation.widget.attrs.update({"autocomplete": "new-password", "maxlength": "128"})
        self.helper = fields_only()


class ActivationForm(NewPasswordForm):
    """« Veuillez saisir votre nouveau mot de passe » (memento, step 2)."""

    def save(self, token: str, sign_in=None) -> User:
        """Activates the account with this password if `token` is still the link's (else `workflows.LinkExpired`)."""
        return workflows.activate(self.user.pk, token, self.cleaned_data["new_password1"], sign_in=sign_in)


class ResetPasswordForm(NewPasswordForm):
    password_labels = ("Nouveau mot de passe", "Confirmez le nouveau mot de passe")

    def save(self) -> User:
        return workflows.reset_password(self.user, self.cleaned_data["new_password1"])


PASSWORD_INCORRECT = "Le mot de passe est incorrect."


def check_current_password(request, password: str, *, incorrect: str = PASSWORD_INCORRECT) -> str:
    """The signed-in user's password, checked as a sign-in is: the one way every form that asks for it does.

    `user.check_password` would let a stolen session guess forever; this goes through django-axes
    (`authenticate`), like sign-in: refused unchecked while the account or the visitor's address is
    locked out (axes' middleware then answers the lockout page, which says until when), a failure
    counted towards both lockouts, a success clearing that account's failures and nobody else's.
    Call it from the form's `clean_<field>`, with the request given to the form: « Changer de mot de
    passe », « Désactiver mon compte », « Confirmez votre identité », and the second factor's forms.
    """
    user = authenticate(request, username=request.user.email, password=password)
    if getattr(request, "axes_locked_out", False):
        raise forms.ValidationError(
            "Le mot de passe a été mal saisi trop de fois : par sécurité, il est bloqué quelques minutes.",
            code="locked_out",
        )
    if user is None or user.pk != request.user.pk:
        raise forms.ValidationError(incorrect, code="password_incorrect")
    forget_failed_sign_ins(username=user.email)
    return password


class ChangePasswordForm(RuleOnThePasswordField, auth_forms.PasswordChangeForm):
    error_messages = {
        **auth_forms.PasswordChangeForm.error_messages,
        "password_incorrect": "Le mot de passe actuel est incorrect.",
        "password_mismatch": "Les deux mots de passe ne sont pas identiques.",
    }

    def __init__(self, *args, request, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)
        self.fields["old_password"].label = "Mot de passe actuel"
        self.fields["new_password1"].label = "Nouveau mot de passe"
        self.fields["new_password2"].label = "Confirmez le nouveau mot de passe"
        self.fields["new_password1"].help_text = ""
        self.fields["new_password1"].widget.attrs.update({"data-password-meter": "", "maxlength": "128"})
        self.helper = fields_only()

    def clean_old_password(self):
        incorrect = self.error_messages["password_incorrect"]
        return check_current_password(self.request, self.cleaned_data["old_password"], incorrect=incorrect)

    def is_current_password(self, user, password: str) -> bool:
        """Compared with the current password once it was verified, never with the stored hash: this field must
        not become a way round the lockout to test guesses of the current password from a stolen session."""
        return password == self.cleaned_data.get("old_password")

    def save(self) -> User:
        return workflows.change_password(self.user, self.cleaned_data["new_password1"])


class LoginForm(auth_forms.AuthenticationForm):
    # One message for unknown address, wrong password, account not yet
    # activated or deactivated: the form must not tell them apart.
    error_messages = {
        "invalid_login": "Adresse électronique de connexion ou mot de passe incorrect, ou compte non activé.",
        "inactive": "Adresse électronique de connexion ou mot de passe incorrect, ou compte non activé.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.fields["username"] = EmailAddressField(label="Adresse électronique de connexion")
        self.fields["username"].widget.attrs.update(autocomplete="username", autofocus=True)
        self.fields["password"].label = "Mot de passe"
        self.helper = fields_only()


class LoginAddressForm(forms.Form):
    """Just the login address: to ask for a new activation link or a password reset."""

    email = EmailAddressField(label="Adresse électronique de connexion")
    helper = fields_only()


class ProfileForm(forms.ModelForm):
    """« Mon profil »: names, phone, survey consent. The contact address has its own step
    (`ContactEmailForm`), where the password is asked and the new address confirms."""

    # Typed with spaces or « (0) »; stored in the model's 20 characters once normalised.
    phone = forms.CharField(label="Téléphone", required=False, max_length=30, help_text=PHONE_HINT)

    class Meta:
        model = User
        fields = ["first_name", "last_name", "phone", "survey_consent"]
        labels = {
            "first_name": "Prénom",
            "last_name": "Nom",
            "phone": "Téléphone",
            "survey_consent": SURVEY_CONSENT_LABEL,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["phone"].widget.attrs["autocomplete"] = "tel"
        self.fields["phone"].widget.input_type = "tel"
        if self.instance.phone and not self.is_bound:
            self.initial["phone"] = phone_for_display(self.instance.phone)
        self.helper = fields_only()

    def clean_first_name(self):
        return clean_person_name(self.cleaned_data["first_name"])

    def clean_last_name(self):
        return clean_person_name(self.cleaned_data["last_name"])

    def clean_phone(self):
        return clean_phone_number(self.cleaned_data["phone"])

    def save(self) -> User:
        return workflows.change_account(self.instance, changed=self.changed_data, by=self.instance)


class ContactEmailForm(forms.Form):
    """« Changer l'e-mail du contact »: in force once the new address confirms the link mailed to it."""

    contact_email = EmailAddressField(
        label="Nouvel e-mail du contact",
        required=False,
        help_text="Les notifications du portail (coordonnées bancaires, rôles, rattachements) iront à cette adresse. "
        "Laissez le champ vide pour les recevoir à votre adresse de connexion.",
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.helper = fields_only()

    def clean_contact_email(self):
        # The login address typed here is the same as none: notices go there either way.
        address = self.cleaned_data["contact_email"]
        address = "" if address == self.user.email else address
        if address == self.user.contact_email:
            raise forms.ValidationError(
                "C'est déjà votre e-mail du contact." if address else "Vous n'avez pas d'e-mail du contact à retirer.",
                code="unchanged",
            )
        return address

    def save(self):
        return workflows.request_contact_change(self.user, self.cleaned_data["contact_email"])


class LoginAddressChangeForm(forms.Form):
    """Staff's « Changer l'adresse de connexion »: staff only, so saying an address is taken tells no visitor."""

    new_email = EmailAddressField(label="Nouvelle adresse de connexion")

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_email(self):
        address = self.cleaned_data["new_email"]
        if address == self.user.email:
            raise forms.ValidationError("C'est déjà l'adresse de connexion de ce compte.", code="unchanged")
        if User.objects.filter(email=address).exists():
            raise forms.ValidationError(TAKEN_LOGIN_ADDRESS, code="taken")
        return address

    def save(self, *, by):
        """The change, or None when another account took the address meanwhile: the form then says so."""
        try:
            return workflows.request_login_change(self.user, self.cleaned_data["new_email"], by=by)
        except workflows.AddressTaken:
            self.add_error("new_email", forms.ValidationError(TAKEN_LOGIN_ADDRESS, code="taken"))
            return None


class DeactivateForm(forms.Form):
    password = forms.CharField(
        label="Votre mot de passe", strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    confirm = forms.BooleanField(
        label="Je comprends que je ne pourrai plus me connecter et que mes rattachements seront suspendus."
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user = request.user
        super().__init__(*args, **kwargs)
        self.helper = fields_only()

    def clean_password(self):
        return check_current_password(self.request, self.cleaned_data["password"])

    def save(self) -> None:
        workflows.deactivate(self.user)


class ConfirmPasswordForm(forms.Form):
    """« Confirmez votre identité », first step: the password, before a sensitive step (`chorus.reauth`)."""

    password = forms.CharField(
        label="Votre mot de passe",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )

    def __init__(self, request, *args, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)
        self.helper = fields_only()

    def clean_password(self):
        return check_current_password(self.request, self.cleaned_data["password"])


class ConfirmCodeForm(CodeForm):
    """« Confirmez votre identité », second step: the code of one of the user's devices. Nothing to trust here:
    a browser is trusted at sign-in only."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["trust"]
