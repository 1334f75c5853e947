from dataclasses import dataclass

from crispy_forms.layout import Fieldset
from django import forms
from django.urls import reverse
from django.utils.text import capfirst
from schwifty import IBAN

from chorus.forms import REQUIRED_NOTICE, Snippet, fields_only
from chorus.uploads import UploadField
from chorus.validators import (
    PHONE_HINT,
    clean_phone_number,
    phone_for_display,
    squeeze_spaces,
    validate_email_address,
)
from structures import directory, workflows
from structures.models import BankAccount, Membership, Structure
from structures.validators import (
    clean_bic,
    clean_french_postal_code,
    clean_iban,
    clean_pacage,
    clean_vat_number,
    vat_number_for,
)

RIB_HINT = "Fichier PDF, PNG ou JPEG de 5 Mo au plus."
RIB_ACCEPT = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"


def structure_choice_label(structure: Structure) -> str:
    return f"{structure.siret} – {structure.name}" if structure.name else structure.siret


class RibField(UploadField):
    """The RIB file: PDF, PNG or JPEG, judged by its content and rewritten before it is stored (`chorus.uploads`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "RIB")
        kwargs.setdefault("help_text", RIB_HINT)
        widget = forms.FileInput(attrs={"accept": RIB_ACCEPT, "class": "fr-upload"})
        widget.group_class = "fr-upload-group"  # the DSFR upload component, through django-dsfr's snippet
        super().__init__(max_length=200, widget=widget, **kwargs)


class ManageStructureForm(forms.Form):
    """« Gérer une structure »: the request type (the memento's two), then, to modify one, the structure
    (« Identifiant »).

    « Créer une structure » needs no structure: its page asks for the SIRET. A user managing
    one structure finds it chosen already; one managing none, creation.
    """

    CREATE = "create"
    MODIFY = "modify"
    NOTHING_TO_MODIFY = (
        "Vous n'êtes gestionnaire d'aucune structure identifiée par un SIRET : seuls ses gestionnaires peuvent la "
        "modifier. Choisissez « Créer une structure », ou demandez un rattachement à la structure depuis « Mes "
        "rattachements »."
    )

    request_type = forms.ChoiceField(
        label="Type de demande",
        choices=[(CREATE, "Créer une structure"), (MODIFY, "Modifier une structure")],
        error_messages={"required": "Choisissez le type de demande."},
    )
    structure = forms.ModelChoiceField(
        label="Identifiant",
        queryset=Structure.objects.none(),
        required=False,
        empty_label="Sélectionnez une structure",
        help_text="Pour « Modifier une structure » : les structures identifiées par un SIRET dont vous êtes "
        "gestionnaire.",
    )

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        managed = Structure.objects.managed_by(user).filter(identifier_type=Structure.IdentifierType.SIRET)
        self.fields["structure"].queryset = managed
        self.fields["structure"].label_from_instance = structure_choice_label
        self.manages_any = managed.exists()
        if not self.manages_any:
            # Nothing to pick: sent empty, so that the request still counts as sent (`is_sent`).
            self.fields["structure"].widget = forms.HiddenInput()
        self.initial.setdefault("request_type", self.MODIFY if self.manages_any else self.CREATE)
        if "structure" not in self.initial and len(only := managed[:2]) == 1:
            self.initial["structure"] = only[0].pk
        self.helper = fields_only()
        self.helper.disable_csrf = True  # a GET form: no token in the address bar

    @staticmethod
    def is_sent(query) -> bool:
        """The form was sent (its « Identifiant » comes with it, even empty), rather than opened from a link
        that preselects a request type (`?request_type=create`)."""
        return "structure" in query

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("request_type") == self.CREATE:
            # The structure is chosen on the creation page, by its SIRET: whatever was picked here is not used.
            self._errors.pop("structure", None)
            cleaned_data["structure"] = None
        elif cleaned_data.get("request_type") == self.MODIFY:
            if not self.manages_any:
                self._errors.pop("structure", None)  # a hidden field: the reason goes where it is read
                self.add_error("request_type", forms.ValidationError(self.NOTHING_TO_MODIFY, code="nothing"))
            elif cleaned_data.get("structure") is None and "structure" not in self.errors:
                self.add_error(
                    "structure", forms.ValidationError("Choisissez la structure à modifier.", code="required")
                )
        return cleaned_data


# The memento's four blocks of « Modifier une structure », in its order; the admin shows them alike.
STRUCTURE_BLOCKS = {
    "Informations générales": [
        "siret",
        "siren",
        "name",
        "rcs_number",
        "vat_number",
        "structure_type",
        "email",
        "status",
        "tax_regime",
    ],
    "Adresse postale": [
        "address",
        "address_complement_1",
        "address_complement_2",
        "postal_code",
        "city",
        "country",
        "phone",
    ],
    "Informations mémoires de frais de justice": ["procedure_category"],
    "Informations demandes de remboursement": ["beneficiary_category", "pacage", "is_agricultural_centre"],
}
# Shown in the blocks, never posted: the SIRET identifies the structure, the SIREN
# derives from it, the status is the portal's.
READ_ONLY = {
    "siret": ("SIRET", "Non modifiable : il identifie la structure."),
    "siren": ("SIREN", "Les 9 premiers chiffres du SIRET."),
    "status": ("Statut", "Non modifiable."),
}


def read_only_field(structure: Structure, name: str) -> dict:
    """One of `READ_ONLY` as `structures/_read_only_field.html` shows it, with the structure's value."""
    label, hint = READ_ONLY[name]
    display = getattr(structure, f"get_{name}_display", None)
    value = display() if display else getattr(structure, name)
    return {"read_only": True, "id": f"structure-{name}", "label": label, "hint": hint, "value": value}


class StructureForm(forms.ModelForm):
    """« Modifier une structure »: the memento's four blocks; `save()` is `workflows.update_structure`, by `by`."""

    # Longer than the stored values: people type the spaces.
    vat_number = forms.CharField(label="Numéro TVA intracommunautaire", max_length=20, required=False)
    pacage = forms.CharField(label="Numéro PACAGE", max_length=15, required=False)

    class Meta:
        model = Structure
        fields = [name for names in STRUCTURE_BLOCKS.values() for name in names if name not in READ_ONLY]
        help_texts = {
            "rcs_number": "Par exemple : RCS Valence 123 456 789. Laissez vide si la structure n'est pas immatriculée.",
            "procedure_category": "Pour les prestataires de justice seulement ; une exploitation agricole n'en a pas.",
            "is_agricultural_centre": "À cocher uniquement par les centres de gestion ou cabinets comptables ayant "
            "reçu délégation d'une entreprise pour saisir ses demandes de remboursement. Une structure ainsi "
            "cochée dépose pour ses clients, jamais pour elle-même : la catégorie de bénéficiaire et le numéro "
            "PACAGE ne lui sont pas demandés.",
        }
        error_messages = {
            "email": {"invalid": "Saisissez une adresse électronique valide, par exemple contact@exemple.fr."}
        }

    def __init__(self, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.by = by
        for name in ["name", "address", "postal_code", "city", "country"]:
            self.fields[name].required = True
        self.fields["vat_number"].help_text = f"Celui de votre structure est {vat_number_for(self.instance.siren)}."
        self.fields["phone"].widget.input_type = "tel"
        if self.instance.phone and not self.is_bound:
            self.initial["phone"] = phone_for_display(self.instance.phone)
        self.fields["is_agricultural_centre"].widget.attrs["data-centre-flag"] = ""
        self.fields["phone"].help_text = PHONE_HINT
        self.fields["postal_code"].widget.attrs.update(inputmode="numeric", autocomplete="postal-code")
        if self.instance.address_restricted:
            self.fields["address"].help_text = (
                "Non diffusible selon le répertoire SIRENE : les utilisateurs simples de la structure ne voient pas "
                "son adresse."
            )
        self.fields["pacage"].widget.attrs.update(inputmode="numeric")
        self.fields["pacage"].help_text = (
            "9 chiffres, attribué par la DDT(M) du département du siège de l'exploitation : les trois premiers "
            "sont ce département (026 pour la Drôme, 974 pour La Réunion)."
        )
        self.fields["email"].widget.attrs.update(autocomplete="email", spellcheck="false")
        # What browsers may fill in (WCAG 1.3.5); the registration numbers are the structure's own.
        autocomplete = {
            "name": "organization",
            "address": "address-line1",
            "address_complement_1": "address-line2",
            "address_complement_2": "address-line3",
            "city": "address-level2",
            "country": "country",
            "phone": "tel",
            "rcs_number": "off",
            "vat_number": "off",
            "pacage": "off",
        }
        for name, token in autocomplete.items():
            self.fields[name].widget.attrs["autocomplete"] = token
        self.fields["tax_regime"].choices = [("", "Non renseigné"), *Structure.TaxRegime.choices]
        self.fields["procedure_category"].choices = [("", "Sans objet"), *Structure.ProcedureCategory.choices]
        self.fields["beneficiary_category"].choices = [
            ("", "Sélectionnez une catégorie"),
            *Structure.BeneficiaryCategory.choices,
        ]

    def blocks(self):
        """The memento's four blocks, in order: each its legend and its fields, a bound field or a read-only one's
        context (`read_only_field`). `structures/_structure_form.html` writes them out."""
        for legend, names in STRUCTURE_BLOCKS.items():
            yield legend, [read_only_field(self.instance, name) if name in READ_ONLY else self[name] for name in names]

    def clean_name(self):
        return squeeze_spaces(self.cleaned_data["name"])

    def clean_vat_number(self):
        value = self.cleaned_data["vat_number"].strip()
        return clean_vat_number(value, self.instance.siren) if value else ""

    def clean_phone(self):
        return clean_phone_number(self.cleaned_data["phone"])

    def clean_email(self):
        value = self.cleaned_data["email"]
        validate_email_address(value)
        return value

    def clean_pacage(self):
        value = self.cleaned_data["pacage"].strip()
        return clean_pacage(value) if value else ""

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("country") == "FR" and cleaned_data.get("postal_code"):
            try:
                cleaned_data["postal_code"] = clean_french_postal_code(cleaned_data["postal_code"])
            except forms.ValidationError as error:
                self.add_error("postal_code", error)
        if cleaned_data.get("is_agricultural_centre"):
            # A centre files for its clients: it carries no category or PACAGE of its own,
            # so whatever was typed there is dropped, errors included.
            cleaned_data["beneficiary_category"] = ""
            cleaned_data["pacage"] = ""
            self._errors.pop("beneficiary_category", None)
            self._errors.pop("pacage", None)
        else:
            if not cleaned_data.get("beneficiary_category") and "beneficiary_category" not in self.errors:
                self.add_error(
                    "beneficiary_category",
                    forms.ValidationError(
                        "Choisissez la catégorie de bénéficiaire, sauf si l'organisation est un centre de "
                        "gestion agricole.",
                        code="required",
                    ),
                )
            if not cleaned_data.get("pacage") and "pacage" not in self.errors:
                self.add_error(
                    "pacage",
                    forms.ValidationError(
                        "Saisissez le numéro PACAGE, sauf si l'organisation est un centre de gestion agricole.",
                        code="required",
                    ),
                )
        return cleaned_data

    def save(self) -> list[str]:
        """The names of the fields that changed (none is fine): saved with their audit row and mailed to
        every manager, in one transaction (`workflows.update_structure`)."""
        return workflows.update_structure(super().save(commit=False), by=self.by)


class BankAccountForm(forms.ModelForm):
    """« Créer une coordonnée bancaire », among the structures `user` manages; `save()` creates it as theirs."""

    # Longer than the stored values: people type the spaces.
    iban = forms.CharField(
        label="IBAN",
        max_length=42,
        help_text="27 caractères pour un compte en France, commençant par FR76. Les espaces sont acceptés.",
    )
    bic = forms.CharField(label="BIC", max_length=14, required=False)
    rib_file = RibField()

    class Meta:
        model = BankAccount
        fields = ["label", "structure", "iban", "bic"]
        labels = {"label": "Nom de la coordonnée bancaire", "structure": "Structure"}
        help_texts = {
            "label": "Un nom pour reconnaître ce compte, par exemple « Compte courant Crédit Agricole ».",
        }

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        managed = Structure.objects.managed_by(user)
        self.fields["structure"].queryset = managed
        self.fields["structure"].empty_label = "Sélectionnez une structure"
        self.fields["structure"].label_from_instance = structure_choice_label
        if len(managed) == 1:
            self.initial["structure"] = managed[0].pk
        self.fields["label"].widget.attrs["autocomplete"] = "off"
        self.fields["iban"].widget.attrs.update(autocomplete="off", spellcheck="false")
        self.fields["bic"].widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "data-bic-from-iban": reverse("structures:bic_lookup")}
        )
        self.fields["bic"].help_text = (
            "8 ou 11 caractères, par exemple AGRIFRPP. Laissez vide : il sera déduit de l'IBAN quand la banque "
            "est connue."
        )
        self.helper = fields_only(
            REQUIRED_NOTICE,
            "label",
            "structure",
            "iban",
            "bic",
            Snippet("structures/_bic_status.html"),
            "rib_file",
        )

    def clean_label(self):
        return squeeze_spaces(self.cleaned_data["label"])

    def clean_iban(self):
        return str(clean_iban(self.cleaned_data["iban"]))

    def clean_bic(self):
        iban = IBAN(self.cleaned_data["iban"]) if self.cleaned_data.get("iban") else None
        value = self.cleaned_data["bic"]
        if value:
            return clean_bic(value, iban)
        if iban is not None and iban.bic is not None:
            return str(iban.bic)
        if iban is None:
            return ""  # the IBAN's own error says what to fix first
        raise forms.ValidationError("Saisissez le BIC : il n'a pas pu être déduit de cet IBAN.", code="required")

    def clean(self):
        cleaned_data = super().clean()
        if (structure := cleaned_data.get("structure")) is not None:
            taken = BankAccount.objects.taken(structure, iban=cleaned_data.get("iban"), label=cleaned_data.get("label"))
            for field, message in taken.items():
                self.add_error(field, forms.ValidationError(message, code=f"{field}_taken"))
        if self.errors and "rib_file" not in self.errors and self.files.get("rib_file"):
            self["rib_file"].help_text = (  # the bound field, which the page renders
                "Sélectionnez de nouveau votre RIB : par sécurité, le fichier n'est pas gardé quand le formulaire "
                f"contient une erreur. {RIB_HINT}"
            )
        return cleaned_data

    def validate_unique(self):
        """The uniqueness checks are clean()'s, next to their fields (the model's would sit atop the form)."""

    def save(self) -> BankAccount | None:
        """Creates the account through `workflows.create_bank_account` (lock, audit row, mail to the managers).

        None when another request registered the same IBAN or name meanwhile: the form then says so on the field.
        """
        data = self.cleaned_data
        try:
            return workflows.create_bank_account(
                structure=data["structure"],
                label=data["label"],
                iban=data["iban"],
                bic=data["bic"],
                rib=data["rib_file"],
                filename=self.files["rib_file"].name,
                by=self.user,
            )
        except workflows.BankAccountTaken as taken:
            self.add_error(taken.field, taken.message)
            return None


class BankAccountUpdateForm(forms.Form):
    """Rename the account, or replace its RIB; `save()` is `workflows.update_bank_account`, by `by`."""

    label = forms.CharField(
        label="Nom de la coordonnée bancaire", max_length=100, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    rib_file = RibField(
        required=False,
        label="Nouveau RIB",
        help_text=f"Laissez vide pour garder le RIB actuel. {RIB_HINT}",
    )

    def __init__(self, bank_account, *args, by, **kwargs):
        self.bank_account = bank_account
        self.by = by
        super().__init__(*args, initial={"label": bank_account.label}, **kwargs)
        self.helper = fields_only("label", "rib_file")

    def clean_label(self):
        label = squeeze_spaces(self.cleaned_data["label"])
        taken = BankAccount.objects.taken(self.bank_account.structure_id, label=label, excluding=self.bank_account)
        if "label" in taken:
            raise forms.ValidationError(taken["label"], code="label_taken")
        return label

    def save(self) -> list[str] | None:
        """What changed ("renamed", "rib_replaced"; none is fine), the managers told by mail.

        None when another account took the name meanwhile: the form then says so on the field.
        """
        rib = self.cleaned_data["rib_file"]
        try:
            return workflows.update_bank_account(
                self.bank_account,
                label=self.cleaned_data["label"],
                rib=rib,
                filename=self.files["rib_file"].name if rib else "",
                by=self.by,
            )
        except workflows.BankAccountTaken as taken:
            self.add_error(taken.field, taken.message)
            return None


class HandOverForm(forms.Form):
    """Hand the main-manager role to another attached user whose account is active.

    `by` is the main manager handing it over; `save()` raises `workflows.MembershipChanged`
    if the roles changed since the page was shown (nothing is done then).
    """

    membership = forms.ModelChoiceField(
        label="Nouveau gestionnaire principal",
        queryset=Membership.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        help_text="Les utilisateurs de la structure dont le compte est activé. Vous resterez gestionnaire.",
        error_messages={
            "required": "Choisissez le nouveau gestionnaire principal.",
            "invalid_choice": "Cette personne n'est pas, ou plus, un utilisateur actif de la structure.",
        },
    )

    def __init__(self, structure: Structure, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.structure = structure
        self.by = by
        field = self.fields["membership"]
        field.queryset = (
            structure.memberships.eligible_managers()
            .exclude(role=Membership.Role.MAIN_MANAGER)
            .select_related("user")
            .order_by("user__last_name", "user__first_name")
        )
        field.label_from_instance = lambda m: f"{m.user.get_full_name()} ({m.user.email}) – {m.get_role_display()}"
        self.helper = fields_only()
        self.helper.disable_csrf = True  # the choice is shown for confirmation by GET; the handover is a POST

    def save(self) -> Membership:
        """The chosen membership, now the main manager's; both people are told by mail."""
        chosen = self.cleaned_data["membership"]
        workflows.hand_over_main_manager(self.structure, to=chosen, by=self.by, current=self.by)
        return chosen


# « Comparer avec le répertoire SIRENE »: the fields the directory gives, in the order of « Modifier une structure ».
# Not the country: the import reads French addresses only.
COMPARED = ["name", "vat_number", "address", "address_complement_1", "postal_code", "city"]


@dataclass(frozen=True)
class Difference:
    name: str
    label: str
    ours: str
    theirs: str


class SireneComparisonForm(forms.Form):
    """« Comparer avec le répertoire SIRENE »: a box for each field where the structure differs from the directory;
    the values ticked are taken, through `workflows.update_structure` (audited and mailed to every manager).

    Offered only what the directory gives: never a blank value (a complement INSEE does not publish, an address
    withheld), nor a mere difference of case or spaces, nor a postal code « Modifier une structure » would refuse.
    The stock compared is posted back: a new stock put in service meanwhile shows the page again.
    """

    stock = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, structure: Structure, listing, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.structure = structure
        self.by = by
        self.unlisted = not isinstance(listing, directory.Listed)
        self.values = {} if self.unlisted else directory.values_of(listing, structure.siren)
        self.differences = [
            Difference(name, capfirst(Structure._meta.get_field(name).verbose_name), ours, theirs)
            for name in COMPARED
            if (theirs := _offered(name, self.values.get(name, "")))
            and _comparable(ours := getattr(structure, name)) != _comparable(theirs)
        ]
        self.initial["stock"] = listing.stock_date.isoformat()
        for difference in self.differences:
            self.fields[difference.name] = forms.BooleanField(
                label=difference.label,
                required=False,
                help_text=f"Sur le portail : {difference.ours or '(vide)'} → répertoire SIRENE : {difference.theirs}",
            )
        self.helper = fields_only(
            "stock", Fieldset("Informations à reprendre du répertoire SIRENE", *[d.name for d in self.differences])
        )

    def clean(self):
        cleaned_data = super().clean()
        # A group's error sits on its first box, so that the error summary leads into the group.
        first_box = self.differences[0].name if self.differences else None
        if cleaned_data.get("stock") != self.initial["stock"]:
            self.data = self.data.copy()
            self.data["stock"] = self.initial["stock"]  # the page shown again compares with the new stock
            self.add_error(
                first_box,
                forms.ValidationError(
                    "Un nouveau stock du répertoire SIRENE a été mis en service entre-temps : vérifiez les valeurs "
                    "des cases, puis cochez à nouveau celles à reprendre.",
                    code="stock_changed",
                ),
            )
        elif first_box and not any(cleaned_data.get(d.name) for d in self.differences):
            self.add_error(
                first_box,
                forms.ValidationError(
                    "Cochez au moins une des informations à reprendre (une case par information).",
                    code="nothing_ticked",
                ),
            )
        return cleaned_data

    def save(self) -> list[str]:
        """The names of the fields that changed."""
        for difference in self.differences:
            if self.cleaned_data[difference.name]:
                setattr(self.structure, difference.name, difference.theirs)
        return workflows.update_structure(self.structure, by=self.by)


def _offered(name: str, value: str) -> str:
    """The directory's value as it would be taken, or blank when it is not to be offered."""
    value = squeeze_spaces(value or "")
    if name == "postal_code" and value:
        try:
            return clean_french_postal_code(value)
        except forms.ValidationError:
            return ""
    return value


def _comparable(value: str) -> str:
    return " ".join(value.split()).casefold()
