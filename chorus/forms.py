"""What every form of the portal shares: crispy renders the fields, the page writes the <form>."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Layout

REQUIRED_NOTICE = HTML('<p class="fr-text--sm">Les champs obligatoires sont marqués d\'un astérisque rouge.</p>')


def fields_only(*layout) -> FormHelper:
    """Crispy renders the fields; the page's template writes the <form> and its buttons."""
    helper = FormHelper()
    helper.form_tag = False
    if layout:
        helper.layout = Layout(*layout)
    return helper


def posted(request) -> tuple:
    """The form's data and files on POST, even empty (then every required field says so); none on GET."""
    return (request.POST, request.FILES) if request.method == "POST" else (None, None)
