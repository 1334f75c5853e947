"""The instructor's forms: the queue's filters, and the three decisions, whose `save()` calls their workflow.

A decision the workflow refuses (`workflows.DecisionInvalid`) comes back as errors next to the fields they are
about, and `save()` returns None; a step no longer possible (`WrongStatus`) or a request out of reach (`NotFound`)
goes up to the view.
"""

from decimal import Decimal

from django import forms

from instruction import workflows
from refunds.forms import FrenchDecimalField
from refunds.models import MESSAGE_MAX_LENGTH, MESSAGE_MAX_TEXT, RefundFlag, RefundLine, RefundRequest
from structures import departements

SENT_STATUSES = [(value, label) for value, label in RefundRequest.Status.choices if value != RefundRequest.Status.DRAFT]
MESSAGE_HINT = (
    f"{MESSAGE_MAX_TEXT} caractères au plus. Il est écrit à la structure, par courriel et sur la page de sa demande."
)


def _text_field(label: str, required_message: str, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MESSAGE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={
            "required": required_message,
            "max_length": "Écrivez au plus %(limit_value)d caractères (%(show_value)d saisis).",
        },
        **kwargs,
    )


class QueueFilterForm(forms.Form):
    """The queue's filters (GET): status, year, département, flag, « Assignées à moi »; any left empty is all, but
    the status, which by default is the work to do: « Déposée » (to take) and « En instruction » (to decide)."""

    ALL = "tous"

    status = forms.ChoiceField(
        label="Statut",
        choices=[("", "À traiter (déposées, en instruction)"), (ALL, "Tous les statuts"), *SENT_STATUSES],
        required=False,
        error_messages={"invalid_choice": "Choisissez l'un des statuts de la liste."},
    )
    year = forms.TypedChoiceField(
        label="Année",
        coerce=int,
        required=False,
        error_messages={"invalid_choice": "Choisissez l'une des années de la liste."},
    )
    departement = forms.ChoiceField(
        label="Département",
        required=False,
        error_messages={"invalid_choice": "Choisissez l'un de vos départements."},
    )
    flag = forms.ChoiceField(
        label="Signalement",
        choices=[("", "Tous"), *RefundFlag.Kind.choices],
        required=False,
        error_messages={"invalid_choice": "Choisissez l'un des signalements de la liste."},
    )
    mine = forms.BooleanField(label="Assignées à moi", required=False)

    def __init__(self, codes: list[str], years, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "Toutes les années"), *[(year, str(year)) for year in years]]
        self.fields["departement"].choices = [
            ("", "Tous mes départements"),
            *[(code, departements.label(code)) for code in codes],
        ]

    def filter(self, requests, user):
        """The requests that match the valid filters; a filter in error is left out (and shown in error)."""
        if self.is_bound:
            self.is_valid()
        data = getattr(self, "cleaned_data", {})
        status = data.get("status")
        if not status:
            requests = requests.filter(status__in=RefundRequest.TO_INSTRUCT)
        elif status != self.ALL:
            requests = requests.filter(status=status)
        if data.get("year"):
            requests = requests.filter(year=data["year"])
        if data.get("departement"):
            requests = requests.filter(departement=data["departement"])
        if data.get("flag"):
            requests = requests.filter(flags__kind=data["flag"])  # one flag of a kind per request: no duplicate
        if data.get("mine"):
            requests = requests.filter(assigned_to=user)
        return requests


class _DecisionForm(forms.Form):
    """A decision on one request by an instructor of its département."""

    def __init__(self, refund: RefundRequest, *args, by, departements: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.refund = refund
        self.by = by
        self.departements = departements

    def _refused(self, invalid: workflows.DecisionInvalid) -> None:
        for field, message in invalid.errors.items():
            self.add_error(field if field in self.fields else None, message)


class InformationForm(_DecisionForm):
    """« Demander un complément »: the message to the structure."""

    message = _text_field(
        "Message à la structure",
        "Écrivez le complément que vous demandez à la structure.",
        help_text="Les factures ou les lignes à revoir, et pourquoi. " + MESSAGE_HINT,
    )

    def save(self) -> RefundRequest | None:
        try:
            return workflows.request_information(
                self.refund.pk, self.cleaned_data["message"], by=self.by, departements=self.departements
            )
        except workflows.DecisionInvalid as invalid:
            self._refused(invalid)
            return None


class RejectForm(_DecisionForm):
    """« Rejeter »: the reason written to the structure."""

    reason = _text_field(
        "Motif du rejet",
        "Indiquez le motif du rejet : il est écrit à la structure.",
        help_text=MESSAGE_HINT,
    )

    def save(self) -> RefundRequest | None:
        try:
            return workflows.reject(
                self.refund.pk, self.cleaned_data["reason"], by=self.by, departements=self.departements
            )
        except workflows.DecisionInvalid as invalid:
            self._refused(invalid)
            return None


def amount_for_input(amount: Decimal) -> str:
    """`1234,50`: an amount as the field shows it, to the cent, with the French comma."""
    return f"{amount:.2f}".replace(".", ",")


class AcceptForm(_DecisionForm):
    """« Accepter »: for each line, the amount granted (the asked one at first) and the reason of a reduction.

    Two fields per line, named by its id (`granted_12`, `reason_12`); `rows` pairs them with their line for the
    page. Whether a reduction has its reason, and the amounts' bounds, the workflow decides (`workflows.accept`).
    """

    def __init__(self, refund: RefundRequest, lines: list[RefundLine], *args, by, departements: list[str], **kwargs):
        super().__init__(refund, *args, by=by, departements=departements, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[f"granted_{line.pk}"] = FrenchDecimalField(
                label=f"Montant accordé pour la facture « {line.invoice_number} »",
                max_whole_digits=10,
                allow_zero=True,
                initial=amount_for_input(line.amount),
                help_text=f"En euros, au plus {amount_for_input(line.amount)}.",
                error_messages={
                    "required": "Indiquez le montant accordé, 0 si rien n'est accordé pour cette facture.",
                    "negative": "Le montant accordé ne peut pas être négatif.",
                    "max_decimal_places": "Le montant accordé s'écrit au centime près (deux décimales au plus).",
                },
            )
            self.fields[f"reason_{line.pk}"] = forms.CharField(
                label=f"Motif de la réduction pour la facture « {line.invoice_number} »",
                required=False,
                max_length=MESSAGE_MAX_LENGTH,
                widget=forms.Textarea(attrs={"rows": 2}),
                help_text="Obligatoire si le montant accordé est inférieur au montant demandé : il est écrit à "
                "la structure.",
                error_messages={"max_length": "Écrivez au plus %(limit_value)d caractères (%(show_value)d saisis)."},
            )

    @property
    def rows(self) -> list[tuple[RefundLine, forms.BoundField, forms.BoundField]]:
        return [(line, self[f"granted_{line.pk}"], self[f"reason_{line.pk}"]) for line in self.lines]

    def decisions(self) -> dict[int, workflows.LineDecision]:
        data = self.cleaned_data
        return {
            line.pk: workflows.LineDecision(data[f"granted_{line.pk}"], data[f"reason_{line.pk}"])
            for line in self.lines
        }

    def save(self) -> RefundRequest | None:
        decisions = self.decisions()
        try:
            return workflows.accept(self.refund.pk, decisions, by=self.by, departements=self.departements)
        except workflows.DecisionInvalid as invalid:
            for key, message in invalid.errors.items():
                if key in decisions:
                    # A reduction's error is about its reason (missing, too long); any other, about the amount.
                    decision = decisions[key]
                    reduced = 0 <= decision.granted < self._line(key).amount
                    self.add_error(f"reason_{key}" if reduced else f"granted_{key}", message)
                else:
                    self.add_error(None, message)
            return None

    def _line(self, pk: int) -> RefundLine:
        return next(line for line in self.lines if line.pk == pk)
