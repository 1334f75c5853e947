"""The « Paiements » page's selection: the requests ticked, handed to `workflows.put_in_payment`."""

from django import forms
from django.core.exceptions import ValidationError

from instruction import workflows
from refunds.models import PaymentBatch

NOTHING_TICKED = "Cochez au moins une demande acceptée à mettre en paiement."
LARGEST_ID = 2**63 - 1  # a BigAutoField's largest value


class RequestIdsField(forms.Field):
    """The ids of the ticked checkboxes, as integers; which of them may be paid is the workflow's to say, so that
    a request paid by a colleague since the page was shown is named in its message."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": NOTHING_TICKED,
        "invalid": "La sélection envoyée n'est pas une liste de demandes : rechargez la page.",
    }

    def to_python(self, value) -> list[int]:
        if not value:
            return []
        try:
            pks = sorted({int(pk) for pk in value})
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None
        # An id no table holds: past a 64-bit integer, a database cannot even compare it (SQLite: OverflowError).
        if pks[0] < 1 or pks[-1] > LARGEST_ID:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return pks


class PaymentForm(forms.Form):
    requests = RequestIdsField(label="Demandes à mettre en paiement")

    def save(self, *, by, departements) -> PaymentBatch | None:
        """The batch; None when the workflow refused the selection, its reasons then on the form.

        `workflows.NotFound` (an id outside the instructor's départements) and `workflows.WrongStatus` (a request
        no longer payable) are the view's to answer.
        """
        try:
            return workflows.put_in_payment(self.cleaned_data["requests"], by=by, departements=departements)
        except workflows.DecisionInvalid as invalid:
            for field, message in invalid.errors.items():
                self.add_error(field if field in self.fields else None, message)
            return None
