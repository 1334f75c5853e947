from django import forms

from approvals.models import ApprovalRequest
from chorus.forms import REQUIRED_NOTICE, fields_only
from structures.validators import clean_siret

REASON_REQUIRED = "Indiquez le motif du refus : il est envoyé au demandeur."
COMMENT_MAX = 2000


class StateFilterForm(forms.Form):
    """The queue's filter: pending requests first, as the memento shows them."""

    ALL = "toutes"

    etat = forms.ChoiceField(
        label="État",
        choices=[*ApprovalRequest.State.choices, (ALL, "Tous les états")],
        initial=ApprovalRequest.State.REQUESTED,
        required=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only()
        self.helper.disable_csrf = True  # a GET form: no token in the address bar

    def filter(self, requests):
        state = self.cleaned_data.get("etat") if self.is_valid() else None
        state = state or ApprovalRequest.State.REQUESTED
        return requests if state == self.ALL else requests.filter(state=state)


class AttachmentRequestForm(forms.Form):
    """« Demander un rattachement »: the structure's SIRET and a word for its manager."""

    siret = forms.CharField(
        label="SIRET de la structure",
        max_length=40,
        help_text="14 chiffres, espaces acceptés. Le SIRET de la structure qui vous emploie ou qui vous a délégué "
        "ses demandes de remboursement.",
        error_messages={"required": "Saisissez le SIRET de la structure."},
    )
    comment = forms.CharField(
        label="Commentaire",
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Facultatif, lu par le gestionnaire principal : votre fonction, ou le centre de gestion pour "
        "lequel vous travaillez.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["siret"].widget.attrs.update(inputmode="numeric", autocomplete="off")
        self.helper = fields_only(REQUIRED_NOTICE, "siret", "comment")

    def clean_siret(self):
        return clean_siret(self.cleaned_data["siret"])

    def clean_comment(self):
        return self.cleaned_data["comment"].strip()


class RefusalForm(forms.Form):
    reason = forms.CharField(
        label="Motif du refus",
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Envoyé au demandeur par courriel.",
        error_messages={"required": REASON_REQUIRED},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = fields_only(REQUIRED_NOTICE, "reason")

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(REASON_REQUIRED, code="required")
        return reason
