"""The farm's forms of « Remboursement de taxes »: each one validates what is typed, then `save()` calls its workflow.

Numbers are typed the French way (« 1 000,50 ») and read by `FrenchDecimalField`; the rate and the amount of a line
are never taken from the browser: the workflow computes them from the published rate.
"""

import re
from decimal import Decimal, InvalidOperation

from django import forms

from chorus.forms import REQUIRED_NOTICE, Snippet, fields_only
from chorus.uploads import UploadField
from refunds import workflows
from refunds.models import (
    INVOICE_NUMBER_TAKEN,
    MESSAGE_MAX_LENGTH,
    MESSAGE_MAX_TEXT,
    Product,
    RefundLine,
    RefundRequest,
)
from structures.forms import structure_choice_label
from structures.models import BankAccount, Structure

INVOICE_HINT = "Fichier PDF, PNG ou JPEG de 5 Mo au plus."
INVOICE_ACCEPT = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg"

# Spaces people type between thousands, including the no-break ones a copied amount carries.
SPACES = re.compile(r"[\s\u00a0\u202f]+")
NUMBER = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")  # ASCII digits, as refunds.js reads them


def decimal_for_input(number: Decimal | None) -> str:
    """`1000,5`: a stored number as the field shows it again, without trailing zeros nor thousand spaces."""
    if number is None:
        return ""
    text = f"{number.normalize():f}"
    return text.replace(".", ",")


class FrenchDecimalField(forms.CharField):
    """A number typed the French way (« 1 000,50 »: spaces between thousands, a decimal comma; a dot is read too).

    At most `max_whole_digits` before the comma and `decimal_places` after; above zero, or at least zero when
    `allow_zero`. Each refusal has its own message, which a field may word for its own value (`error_messages`).
    """

    default_error_messages = {
        "invalid": "Saisissez un nombre en chiffres, par exemple 1\u00a0000,50.",
        "not_positive": "Saisissez un nombre supérieur à zéro.",
        "negative": "Saisissez un nombre positif, ou 0.",
        "max_whole_digits": "Saisissez au plus %(max)s chiffres avant la virgule.",
        "max_decimal_places": "Saisissez au plus %(max)s chiffres après la virgule.",
    }

    # What the box takes: the longest number with its spaces, and room for a slip. Checked by hand, not by
    # CharField's validator, which would measure the cleaned Decimal.
    MAX_LENGTH = 30

    def __init__(self, *, max_whole_digits: int, decimal_places: int = 2, allow_zero: bool = False, **kwargs):
        self.max_whole_digits = max_whole_digits
        self.decimal_places = decimal_places
        self.allow_zero = allow_zero
        super().__init__(**kwargs)
        self.widget.attrs.update(maxlength=self.MAX_LENGTH, inputmode="decimal", autocomplete="off", spellcheck="false")

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        compact = SPACES.sub("", value)
        if len(compact) > self.MAX_LENGTH or not NUMBER.fullmatch(compact):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            number = Decimal(compact.replace(",", "."))
        except InvalidOperation:  # the pattern lets none through; kept so that no input can give a 500
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from None
        if number < 0 or (number == 0 and not self.allow_zero):
            code = "negative" if self.allow_zero else "not_positive"
            raise forms.ValidationError(self.error_messages[code], code=code)
        if number >= 10**self.max_whole_digits:
            raise forms.ValidationError(
                self.error_messages["max_whole_digits"], code="max_whole_digits", params={"max": self.max_whole_digits}
            )
        step = Decimal(1).scaleb(-self.decimal_places)
        if number != number.quantize(step):  # « 12,340 » is 12,34; « 12,345 » is refused
            raise forms.ValidationError(
                self.error_messages["max_decimal_places"],
                code="max_decimal_places",
                params={"max": self.decimal_places},
            )
        return number.quantize(step)


class InvoiceField(UploadField):
    """The invoice file: PDF, PNG or JPEG, judged by its content and rewritten before it is stored, as a RIB is."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", "Facture")
        kwargs.setdefault("help_text", INVOICE_HINT)
        widget = forms.FileInput(attrs={"accept": INVOICE_ACCEPT, "class": "fr-upload"})
        widget.group_class = "fr-upload-group"  # the DSFR upload component, through the field snippet
        super().__init__(max_length=200, widget=widget, **kwargs)


def invoice_of(clean_file) -> workflows.Invoice | None:
    """The workflow's `Invoice` from the field's cleaned value (the name is the one the file was sent under)."""
    if clean_file is None:
        return None
    return workflows.Invoice(clean_file, clean_file.content.name or "facture")


class StartForm(forms.Form):
    """« Saisir demande de remboursement TIC »: the structure and the year; `save()` opens its request.

    A structure has one request a year: choosing a year already begun opens that request (`workflows.start`).
    """

    structure = forms.ModelChoiceField(
        label="Structure",
        queryset=Structure.objects.none(),
        empty_label="Sélectionnez une structure",
        help_text="Les exploitations auxquelles vous êtes rattaché(e). Un centre de gestion dépose pour ses "
        "clients, jamais pour lui-même.",
        error_messages={
            "required": "Choisissez la structure pour laquelle vous déposez la demande.",
            "invalid_choice": "Vous ne pouvez pas déposer de demande pour cette structure : choisissez l'une de "
            "celles de la liste.",
        },
    )
    year = forms.TypedChoiceField(
        label="Année de la demande",
        coerce=int,
        help_text="L'année de livraison des produits dont vous demandez le remboursement.",
        error_messages={
            "required": "Choisissez l'année de la demande.",
            "invalid_choice": "Le dépôt des demandes n'est pas ouvert pour l'année « %(value)s » : choisissez l'une "
            "des années de la liste.",
        },
    )

    def __init__(self, user, *args, preselect=None, **kwargs):
        """`preselect`: the address's query (a portfolio's « Saisir » link), read only for choices offered."""
        super().__init__(*args, **kwargs)
        self.user = user
        structures = workflows.filing_structures(user).order_by("name", "siret")
        self.fields["structure"].queryset = structures
        self.fields["structure"].label_from_instance = structure_choice_label
        self.campaigns = list(workflows.open_campaigns().order_by("-year"))
        self.fields["year"].choices = [("", "Sélectionnez une année")] + [
            (campaign.year, f"{campaign.year} (dépôt jusqu'au {campaign.closes_on:%d/%m/%Y})")
            for campaign in self.campaigns
        ]
        self.structures = list(structures)
        preselect = preselect or {}
        if wanted := next((s.pk for s in self.structures if str(s.pk) == preselect.get("structure")), None):
            self.initial["structure"] = wanted
        if wanted := next((c.year for c in self.campaigns if str(c.year) == preselect.get("year")), None):
            self.initial["year"] = wanted
        if len(self.structures) == 1:
            self.initial.setdefault("structure", self.structures[0].pk)
        if len(self.campaigns) == 1:
            self.initial.setdefault("year", self.campaigns[0].year)
        self.helper = fields_only(REQUIRED_NOTICE, "structure", "year")

    def save(self) -> tuple[RefundRequest, bool]:
        """The request of the structure for the year, and whether it was just created."""
        return workflows.start(self.cleaned_data["structure"], self.cleaned_data["year"], by=self.user)


def bank_account_label(account) -> str:
    default = " – par défaut" if account.is_default else ""
    return f"{account.label} (IBAN {account.masked_iban}){default}"


class HeaderForm(forms.Form):
    """The header of a draft (« Enregistrer »): where the refund is paid, the sworn statement, the de minimis aid.

    Nothing here is required to save: `workflows.problems` says what is missing before sending. The de minimis
    field is asked only when a line is de minimis aid (`with_de_minimis`).
    """

    bank_account = forms.ModelChoiceField(
        label="Références bancaires",
        queryset=BankAccount.objects.none(),
        widget=forms.RadioSelect,
        empty_label=None,
        required=False,
        help_text="Les coordonnées bancaires de la structure accompagnées de leur RIB. Le remboursement sera versé "
        "sur ce compte.",
        error_messages={
            "required": "Choisissez les références bancaires sur lesquelles verser le remboursement.",
            "invalid_choice": "Choisissez l'une des références bancaires de la structure, avec son RIB.",
        },
    )
    not_in_difficulty = forms.BooleanField(
        label="Je certifie que l'entreprise n'est pas en difficulté",
        required=False,
        help_text="Obligatoire pour envoyer la demande.",
    )
    de_minimis_total = FrenchDecimalField(
        label="Montant des aides de minimis reçues sur l'exercice en cours et les deux précédents",
        max_whole_digits=10,
        allow_zero=True,
        required=False,
        help_text="En euros, par exemple 1 250,00 ; 0 si vous n'en avez reçu aucune. Le fioul lourd, le GPL et le "
        "gaz naturel sont des aides de minimis : leur total sur trois exercices est plafonné.",
        error_messages={
            "invalid": "Saisissez le montant en euros, en chiffres, par exemple 1 250,00 (0 si aucune aide).",
            "negative": "Le montant des aides de minimis ne peut pas être négatif : saisissez 0 si aucune aide.",
            "max_whole_digits": "Le montant des aides de minimis compte au plus %(max)s chiffres avant la virgule.",
            "max_decimal_places": "Le montant est en euros et centimes : %(max)s chiffres au plus après la virgule.",
        },
    )

    def __init__(self, refund: RefundRequest, *args, with_de_minimis: bool, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.refund = refund
        self.by = by
        accounts = refund.structure.bank_accounts.exclude(rib="").order_by("-is_default", "label")
        field = self.fields["bank_account"]
        field.queryset = accounts
        field.label_from_instance = bank_account_label
        self.has_accounts = bool(list(accounts))
        field.required = self.has_accounts
        if not self.has_accounts:
            # No radio to draw: the page shows the « Références bancaires » block instead, and a forged account's
            # error there; the summary's link (the widget's id) leads to that block.
            field.widget = forms.HiddenInput(attrs={"id": "references-bancaires"})
        self.initial.setdefault("bank_account", refund.bank_account_id)
        self.initial.setdefault("not_in_difficulty", refund.not_in_difficulty)
        if with_de_minimis:
            self.initial.setdefault("de_minimis_total", decimal_for_input(refund.de_minimis_total))
            self.fields["de_minimis_total"].widget.attrs["autocomplete"] = "off"
        else:
            del self.fields["de_minimis_total"]

    def save(self) -> RefundRequest:
        """Saved by `workflows.save_header`, which raises `workflows.NotEditable` once the request is sent."""
        data = self.cleaned_data
        return workflows.save_header(
            self.refund.pk,
            bank_account=data["bank_account"],
            not_in_difficulty=data["not_in_difficulty"],
            de_minimis_total=data.get("de_minimis_total", self.refund.de_minimis_total),
            by=self.by,
        )


class LiveAmount(Snippet):
    """Under the quantity: the rate and the amount of the line, which refunds.js updates as they are typed."""

    def __init__(self):
        super().__init__("refunds/_live_amount.html")

    def get_context(self, form) -> dict:
        line = form.line
        others = form.refund.total_asked - (line.amount if line is not None else Decimal("0.00"))
        return {"line": line, "refund": form.refund, "other_lines": others}


class LineForm(forms.Form):
    """« Ajouter ligne de demande » or change one: `save()` adds or updates it through the workflow.

    The products offered are those with a published rate for the request's year; the others are named in the
    field's hint. The invoice is optional here (sending asks for it). `save()` returns None when the workflow
    refused a field (an invoice number taken a moment earlier, a rate withdrawn), with the error on that field.
    """

    invoice_number = forms.CharField(
        label="Numéro de facture",
        max_length=40,
        help_text="Tel qu'il figure sur la facture. Un numéro ne peut figurer qu'une fois dans la demande.",
        error_messages={
            "required": "Saisissez le numéro de facture.",
            "max_length": "Le numéro de facture compte au plus %(limit_value)d caractères (celui-ci en compte "
            "%(show_value)d).",
        },
    )
    invoice_date = forms.DateField(
        label="Date de la facture",
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Saisissez la date de la facture.",
            "invalid": "Saisissez une date valide, au format jj/mm/aaaa, par exemple 15/03/2023.",
        },
    )
    supplier = forms.CharField(
        label="Fournisseur",
        max_length=120,
        error_messages={
            "required": "Saisissez le nom du fournisseur.",
            "max_length": "Le nom du fournisseur compte au plus %(limit_value)d caractères (celui-ci en compte "
            "%(show_value)d).",
        },
    )
    product = forms.ModelChoiceField(
        label="Produit",
        queryset=Product.objects.none(),
        empty_label="Sélectionnez un produit",
        error_messages={
            "required": "Choisissez le produit de la facture.",
            "invalid_choice": "Ce produit ne peut pas être demandé pour cette année : son taux n'est pas publié.",
        },
    )
    quantity = FrenchDecimalField(
        label="Quantité",
        max_whole_digits=8,
        help_text="Dans l'unité de la facture, 2 chiffres au plus après la virgule, par exemple 1\u00a0000,50.",
        error_messages={
            "required": "Saisissez la quantité facturée.",
            "invalid": "Saisissez la quantité en chiffres, par exemple 1\u00a0000,50.",
            "not_positive": "La quantité doit être supérieure à zéro.",
            "max_whole_digits": "La quantité compte au plus %(max)s chiffres avant la virgule (99 999 999,99 au plus).",
            "max_decimal_places": "La quantité compte au plus %(max)s chiffres après la virgule.",
        },
    )
    invoice = InvoiceField(required=False)

    def __init__(self, refund: RefundRequest, *args, line: RefundLine | None = None, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.refund = refund
        self.line = line
        self.by = by
        self.rates = workflows.rates_of(refund.year)
        products = list(Product.objects.all())
        priced = [product for product in products if product.pk in self.rates]
        unpriced = [product.name for product in products if product.pk not in self.rates]
        field = self.fields["product"]
        field.queryset = Product.objects.filter(pk__in=self.rates)
        field.label_from_instance = lambda product: (
            f"{product.name} (quantité en {product.invoice_unit}, taux {refund.year} : "
            f"{self.rates[product.pk].display})"
        )
        if not priced:
            field.help_text = f"Les taux {refund.year} ne sont pas encore publiés : aucune ligne ne peut être saisie."
        elif unpriced:
            field.help_text = f"Les taux {refund.year} ne sont pas encore publiés pour : {', '.join(unpriced)}."
        units: dict[str, list[str]] = {}
        for product in priced:
            units.setdefault(product.invoice_unit, []).append(product.name)
        self.fields["quantity"].help_text = (
            "Dans l'unité de la facture : "
            + ", ".join(f"{unit} ({', '.join(names)})" for unit, names in units.items())
            + ". 2 chiffres au plus après la virgule, par exemple 1\u00a0000,50."
        )
        self.fields[
            "invoice_date"
        ].help_text = (
            f"Par exemple : 15/03/{refund.year}. La date doit être dans l'année de la demande ({refund.year})."
        )
        self.fields["invoice_number"].widget.attrs.update(autocomplete="off", spellcheck="false")
        self.fields["supplier"].widget.attrs["autocomplete"] = "off"
        if line is not None:
            self.initial.update(
                invoice_number=line.invoice_number,
                invoice_date=line.invoice_date,
                supplier=line.supplier,
                product=line.product_id,
                quantity=decimal_for_input(line.quantity),
            )
            if line.has_invoice:
                self.fields["invoice"].help_text = (
                    f"Une facture est jointe ({line.invoice_filename}) : choisissez un fichier pour la remplacer. "
                    + INVOICE_HINT
                )
        self.helper = fields_only(
            REQUIRED_NOTICE,
            "invoice_number",
            "invoice_date",
            "supplier",
            "product",
            "quantity",
            LiveAmount(),
            "invoice",
        )

    def live_rates(self) -> dict:
        """What refunds.js computes the amount from, by product id: the rate, its unit, and the invoice units per
        rate unit (`json_script`; the server's amount stays the one saved)."""
        return {
            str(product_id): {
                "rate": str(rate.amount),
                "units": str(rate.product.invoice_units_per_rate_unit),
                "display": rate.display,
                "unit": rate.product.rate_unit,
            }
            for product_id, rate in self.rates.items()
        }

    def _post_clean(self):
        self._ask_for_the_file_again()

    def _ask_for_the_file_again(self) -> None:
        """A page shown again cannot keep the file chosen (no browser refills a file input): when another field is
        in error, say that the valid file chosen was not kept, on its field and so in the summary."""
        chosen = self.files.get("invoice")
        if not self.errors or "invoice" in self.errors or chosen is None:
            return
        self.add_error(
            "invoice",
            forms.ValidationError(
                "Choisissez de nouveau le fichier « %(name)s » : il n'a pas été conservé car le formulaire contient "
                "une erreur.",
                code="not_kept",
                params={"name": chosen.name},
            ),
        )

    def clean_invoice_number(self):
        number = self.cleaned_data["invoice_number"]
        others = self.refund.lines.filter(invoice_number__iexact=number)
        if self.line is not None:
            others = others.exclude(pk=self.line.pk)
        if others.exists():
            raise forms.ValidationError(INVOICE_NUMBER_TAKEN, code="taken")
        return number

    def clean_invoice_date(self):
        day = self.cleaned_data["invoice_date"]
        if day.year != self.refund.year:
            raise forms.ValidationError(
                "La date de la facture doit être dans l'année de la demande, %(year)s (celle-ci est du %(day)s).",
                code="other_year",
                params={"year": self.refund.year, "day": f"{day:%d/%m/%Y}"},
            )
        return day

    def save(self) -> RefundLine | None:
        """Raises `workflows.NotEditable` once the request is sent, `RefundLine.DoesNotExist` if the line is gone."""
        data = self.cleaned_data
        line_data = workflows.LineData(
            invoice_number=data["invoice_number"],
            invoice_date=data["invoice_date"],
            supplier=data["supplier"],
            product=data["product"],
            quantity=data["quantity"],
        )
        invoice = invoice_of(data.get("invoice"))
        try:
            if self.line is None:
                return workflows.add_line(self.refund.pk, line_data, invoice=invoice, by=self.by)
            return workflows.update_line(self.line.pk, line_data, invoice=invoice, by=self.by)
        except workflows.InvoiceNumberTaken:
            self.add_error("invoice_number", forms.ValidationError(INVOICE_NUMBER_TAKEN, code="taken"))
        except workflows.RateMissing:
            self.add_error(
                "product",
                forms.ValidationError(
                    f"Les taux {self.refund.year} ne sont pas encore publiés pour ce produit.", code="rate_missing"
                ),
            )
        self._ask_for_the_file_again()
        return None


class InvoiceForm(forms.Form):
    """« Joindre la facture » of a line: the file alone; `save()` attaches it (`workflows.attach_invoice`)."""

    invoice = InvoiceField(error_messages={"required": "Choisissez le fichier de la facture."})

    def __init__(self, line: RefundLine, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.by = by
        if line.has_invoice:
            self.fields["invoice"].help_text = (
                f"Une facture est jointe ({line.invoice_filename}) : le fichier choisi la remplacera. " + INVOICE_HINT
            )
        self.helper = fields_only(REQUIRED_NOTICE, "invoice")

    def save(self) -> RefundLine:
        return workflows.attach_invoice(self.line.pk, invoice_of(self.cleaned_data["invoice"]), by=self.by)


RESPONSE_REQUIRED = "Saisissez votre réponse à la cellule remboursement : ce que vous avez modifié ou joint."


class SendForm(forms.Form):
    """« Envoyer la demande », or « Répondre au complément » once an instructor asked for one: then the farm's answer
    (`message`), which the « Complément envoyé » event keeps. `save()` sends it (`workflows.send`)."""

    message = forms.CharField(
        label="Votre réponse",
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Transmise à la cellule remboursement avec la demande : ce que vous avez modifié ou joint. "
        f"{MESSAGE_MAX_TEXT} caractères au plus.",
        error_messages={
            "required": RESPONSE_REQUIRED,
            "max_length": "Votre réponse compte %(show_value)d caractères : raccourcissez-la à %(limit_value)d.",
        },
    )

    def __init__(self, refund: RefundRequest, *args, by, **kwargs):
        super().__init__(*args, **kwargs)
        self.refund = refund
        self.by = by
        self.answers_complement = refund.status == RefundRequest.Status.INFORMATION_REQUESTED
        if self.answers_complement:
            self.helper = fields_only(REQUIRED_NOTICE, "message")
        else:
            del self.fields["message"]

    def clean_message(self):
        message = self.cleaned_data["message"].strip()
        if not message:
            raise forms.ValidationError(RESPONSE_REQUIRED, code="required")
        return message

    def save(self) -> RefundRequest:
        """Raises `workflows.SendingRefused` or `workflows.AlreadySent` as `workflows.send` does."""
        return workflows.send(self.refund.pk, by=self.by, message=self.cleaned_data.get("message", ""))


class ListFilterForm(forms.Form):
    """The filters of « Mes demandes de remboursement » (GET): structure, year, status; any left empty is all."""

    structure = forms.ModelChoiceField(
        label="Structure",
        queryset=Structure.objects.none(),
        required=False,
        empty_label="Toutes les structures",
        error_messages={"invalid_choice": "Choisissez l'une des structures de la liste."},
    )
    year = forms.TypedChoiceField(
        label="Année",
        coerce=int,
        required=False,
        error_messages={"invalid_choice": "Choisissez l'une des années de la liste."},
    )
    status = forms.ChoiceField(
        label="Statut",
        choices=[("", "Tous les statuts"), *RefundRequest.Status.choices],
        required=False,
        error_messages={"invalid_choice": "Choisissez l'un des statuts de la liste."},
    )

    def __init__(self, structures, years, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["structure"].queryset = structures
        self.fields["structure"].label_from_instance = structure_choice_label
        self.fields["year"].choices = [("", "Toutes les années"), *[(year, str(year)) for year in years]]

    def filter(self, requests):
        """The requests that match the valid filters; a filter in error is left out (and shown in error)."""
        if self.is_bound:
            self.is_valid()
        data = getattr(self, "cleaned_data", {})
        if data.get("structure"):
            requests = requests.filter(structure=data["structure"])
        if data.get("year"):
            requests = requests.filter(year=data["year"])
        if data.get("status"):
            requests = requests.filter(status=data["status"])
        return requests
