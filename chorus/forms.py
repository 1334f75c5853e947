"""What every form of the portal shares: crispy renders the fields, the page writes the <form>."""

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Layout
from django.forms.renderers import TemplatesSetting
from django.template.loader import render_to_string

# Django's one-line templates that only include the generic <input>: rendered as it directly, each
# include cost about as much as writing the input.
INPUT_TEMPLATES = {
    f"django/forms/widgets/{kind}.html"
    for kind in (
        *("checkbox", "color", "date", "datetime", "email", "file", "hidden"),
        *("number", "password", "search", "tel", "text", "time", "url"),
    )
}


# A select of this many options or more (the country list: about 250) is drawn once for each distinct set of
# options, name, attributes and choice, then reused: its template took most of « Modifier une structure ».
LONG_SELECT = 50
LONG_SELECTS_KEPT = 64


class FormRenderer(TemplatesSetting):
    """Django's TemplatesSetting (the project's widget templates win), with every plain input drawn by one template
    and long selects drawn once."""

    long_selects: dict = {}

    def render(self, template_name, context, request=None):
        key = _long_select_key(template_name, context)
        if key is None:
            return super().render(template_name, context, request)
        html = self.long_selects.get(key)
        if html is None:
            if len(self.long_selects) >= LONG_SELECTS_KEPT:
                self.long_selects.clear()
            html = self.long_selects[key] = super().render(template_name, context, request)
        return html

    def get_template(self, template_name):
        if template_name in INPUT_TEMPLATES:
            template_name = "django/forms/widgets/input.html"
        elif template_name == "django/forms/errors/list/default.html":  # itself one include
            template_name = "django/forms/errors/list/ul.html"
        return super().get_template(template_name)


def _long_select_key(template_name: str, context: dict) -> tuple | None:
    """Everything a select's template reads, as a key, when the select is long; None otherwise.

    The labels are read as text, so a translated list is kept once per language.
    """
    if template_name != "django/forms/widgets/select.html":
        return None
    widget = context["widget"]
    groups = widget["optgroups"]
    if sum(len(options) for _, options, _ in groups) < LONG_SELECT:
        return None
    try:
        key = (
            template_name,
            widget["name"],
            tuple(widget["attrs"].items()),
            tuple(
                (str(group), tuple((str(o["value"]), str(o["label"]), tuple(o["attrs"].items())) for o in options))
                for group, options, _ in groups
            ),
        )
        hash(key)
    except TypeError:  # an attribute that is not a plain value: drawn each time
        return None
    return key


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
