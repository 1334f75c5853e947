"""What every form of the portal shares: crispy renders the fields, the page writes the <form>."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django.template.loader import render_to_string


class Snippet:
    """A crispy layout item written in a template of its own, so that no markup is built in Python.

    Subclasses give it a context from the form (`get_context`); by default it has none.
    """

    def __init__(self, template_name: str, **context):
        self.template_name = template_name
        self.context = context

    def get_context(self, form) -> dict:
        return self.context

    def render(self, form, context, template_pack=None, **kwargs):
        return render_to_string(self.template_name, self.get_context(form))


REQUIRED_NOTICE = Snippet("_partials/required_notice.html")


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
