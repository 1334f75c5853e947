from django import forms

from approvals import workflows
from approvals.models import ApprovalRequest
from chorus.forms import REQUIRED_NOTICE, fields_only
from structures import directory
from structures.models import Structure
from structures.validators import clean_siret

REASON_REQUIRED = "Indiquez le motif du refus : il est envoyé au demandeur."
COMMENT_MAX = 2000
UNKNOWN_SIRET = (
    "Aucune structure n'est inscrite sur le portail avec ce SIRET. Vérifiez le numéro, ou demandez à la structure "
    "de s'inscrire : son inscription la crée et fait de la personne qui s'inscrit son gestionnaire principal."
)
ALREADY_ATTACHED = "Vous êtes déjà rattaché(e) à cette structure."
ALREADY_REQUESTED = "Vous avez déjà une demande de rattachement en attente pour cette structure."


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

    @property
    def state(self) -> str:
        """The state chosen, pending by default (or when the choice is not one of the list), or `ALL`."""
        return (self.cleaned_data.get("etat") if self.is_valid() else None) or ApprovalRequest.State.REQUESTED

    def filter(self, requests):
        return requests if self.state == self.ALL else requests.filter(state=self.state)


class SiretForm(forms.Form):
    """A structure's SIRET and a word for its managers: what « Demander un rattachement » and « Créer une
    structure » both ask. A subclass says what the comment is for and what `save` does."""

    SIRET_HINT = "14 chiffres, espaces acceptés."
    COMMENT_LABEL = "Commentaire"
    COMMENT_HINT = ""

    siret = forms.CharField(
        label="SIRET de la structure",
        max_length=40,
        error_messages={"required": "Saisissez le SIRET de la structure."},
    )
    comment = forms.CharField(required=False, max_length=COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)
        self.fields["siret"].help_text = self.SIRET_HINT
        self.fields["siret"].widget.attrs.update(inputmode="numeric", autocomplete="off")
        self.fields["comment"].label = self.COMMENT_LABEL
        self.fields["comment"].help_text = self.COMMENT_HINT
        self.helper = fields_only(REQUIRED_NOTICE, "siret", "comment")

    def clean_siret(self):
        return clean_siret(self.cleaned_data["siret"])

    def clean_comment(self):
        return self.cleaned_data["comment"].strip()

    def _filed(self, step, **kwargs):
        """Runs the step; a structure already joined or asked is said under the SIRET (None returned)."""
        try:
            return step(user=self.user, comment=self.cleaned_data["comment"], **kwargs)
        except workflows.AlreadyAttached:
            self.add_error("siret", ALREADY_ATTACHED)
        except workflows.AlreadyRequested:
            self.add_error("siret", ALREADY_REQUESTED)
        return None


class AttachmentRequestForm(SiretForm):
    """« Demander un rattachement »: the structure's SIRET and a word for its manager."""

    SIRET_HINT = (
        "14 chiffres, espaces acceptés. Le SIRET de la structure qui vous emploie ou qui vous a délégué ses demandes "
        "de remboursement."
    )
    COMMENT_HINT = (
        "Facultatif, lu par le gestionnaire principal : votre fonction, ou le centre de gestion pour lequel vous "
        "travaillez."
    )

    def save(self) -> ApprovalRequest | None:
        """Files the request; or, for an unknown SIRET or a structure already joined or asked, says why under it.

        Looked up here rather than in `clean_siret`: the caller counts look-ups (throttling) first.
        """
        structure = Structure.objects.filter(siret=self.cleaned_data["siret"]).first()
        if structure is None:
            self.add_error("siret", UNKNOWN_SIRET)
            return None
        return self._filed(workflows.request_attachment, structure=structure)


class StructureCreateForm(SiretForm):
    """« Créer une structure », signed in: the SIRET, checked as at sign-up, and a word for the manager in case
    the structure is already registered (the request then carries it)."""

    COMMENT_LABEL = "Commentaire pour le gestionnaire"
    COMMENT_HINT = (
        "Facultatif. Si la structure est déjà inscrite sur le portail, vous ne la créez pas : une demande de "
        "rattachement est envoyée à son gestionnaire, avec ce commentaire (votre fonction, ou le centre de gestion "
        "pour lequel vous travaillez)."
    )

    def save(self) -> workflows.Joined | None:
        """Creates the structure or files the request; a closed establishment is refused under the SIRET (as at
        sign-up). Not in `clean_siret`: the caller counts look-ups (throttling) first."""
        try:
            directory.refuse_closed(self.cleaned_data["siret"])
        except forms.ValidationError as error:
            self.add_error("siret", error)
            return None
        return self._filed(workflows.create_structure, siret=self.cleaned_data["siret"])


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

    def save(self, requests, *, by) -> tuple[list[ApprovalRequest], int]:
        """Refuses the pending requests among `requests` with this reason: (those refused, how many were closed)."""
        return workflows.decide_many(requests, by=by, approve=False, reason=self.cleaned_data["reason"])
