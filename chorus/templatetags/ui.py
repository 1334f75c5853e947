from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from dsfr.utils import dsfr_input_class_attr

from chorus.mail import free_text
from chorus.validators import phone_for_display

register = template.Library()


@register.inclusion_tag("_partials/breadcrumb.html")
def breadcrumb(*trail):
    """DSFR breadcrumb from « Accueil »: {% breadcrumb "Organisation" "organisation" "Structures" %}.

    Pairs of (label, URL name or path) lead to the current page's label, last.
    """
    *pairs, current = trail
    links = [{"label": "Accueil", "url": reverse("home")}]
    links += [
        {"label": label, "url": target if target.startswith("/") else reverse(target)}
        for label, target in zip(pairs[::2], pairs[1::2], strict=True)
    ]
    return {"links": links, "current": current}


register.filter("phone", phone_for_display)  # +33612345678 → « 06 12 34 56 78 »
register.filter("free_text", free_text)  # someone's words in a mail: one paragraph, shortened, no link


@register.filter
def error_count(form) -> int:
    """Every message the form shows, for the error summary's heading."""
    return len(form.non_field_errors()) + sum(len(field.errors) for field in form)


@register.filter
def summary_label(label: str) -> str:
    """« Confirmez le mot de passe : » → « Confirmez le mot de passe », before the summary's own colon."""
    return str(label).rstrip(" :")


@register.filter
def dsfr_widget(field):
    """The DSFR's classes on a field's widget, leaving its ARIA to Django.

    django-dsfr's own filter points `aria-describedby` at the error alone, so a
    field in error stops announcing its hint (« 14 chiffres »…). Django already
    sets `aria-invalid` and describes the field by its hint then its error.
    """
    field = dsfr_input_class_attr(field)
    for name in ("aria-describedby", "aria-invalid"):
        field.field.widget.attrs.pop(name, None)
    return field


@register.filter
def error_anchor(field) -> str:
    """Where the error summary's link leads: the field, or the first button of a group of radios."""
    return field.id_for_label or f"{field.auto_id}_0"


@register.filter
def euros(amount) -> str:
    """`1 234,56 €`: an amount as French pages print it (a narrow no-break space between thousands)."""
    if amount is None or amount == "":
        return ""
    whole, _, cents = f"{Decimal(amount).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}".partition(".")
    return f"{whole.replace(',', '\u202f')},{cents}\u00a0€"


@register.filter
def iban_groups(iban: str) -> str:
    """`FR76 3000 6000 0112 3456 7890 189`: an IBAN in full, in groups of four as banks print it."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


@register.filter
def decimal_fr(number) -> str:
    """`1 000,5`: a quantity, French decimal comma, no trailing zeros beyond what was typed."""
    if number is None or number == "":
        return ""
    whole, _, decimals = f"{Decimal(number).normalize():,f}".partition(".")
    return whole.replace(",", "\u202f") + (f",{decimals}" if decimals else "")


# A badge's colour class by status, for lists that write the badge in each row (an include a row cost more than the
# row's other cells).
REFUND_BADGES = {
    "information_requested": " fr-badge--warning",
    "accepted": " fr-badge--success",
    "partly_accepted": " fr-badge--success",
    "paid": " fr-badge--success",
    "rejected": " fr-badge--error",
    "filed": " fr-badge--info",
    "in_review": " fr-badge--info",
    "in_payment": " fr-badge--info",
}
APPROVAL_BADGES = {"requested": " fr-badge--new", "approved": " fr-badge--success", "refused": " fr-badge--error"}


@register.filter
def status_colour(status: str) -> str:
    """A refund request's badge: a draft plain, waiting on the farm warning, decided success or error, others info."""
    return REFUND_BADGES.get(status, "")


@register.filter
def state_colour(state: str) -> str:
    """An approval request's badge: « Demandé » new, « Approuvé » success, « Refusé » error, « Retiré » plain."""
    return APPROVAL_BADGES.get(state, "")


# Lists print a date, a link or two in each of their 50 rows: these print what `|date` and `{% url %}` would, for
# about half their cost.


@register.filter(expects_localtime=True)
def day(value) -> str:
    """`07/12/2026`: what `|date:"d/m/Y"` prints."""
    return value.strftime("%d/%m/%Y") if value else ""


@register.filter(expects_localtime=True)
def day_and_time(value) -> str:
    """`07/12/2026 14:05:09`: what `|date:"d/m/Y H:i:s"` prints."""
    return value.strftime("%d/%m/%Y %H:%M:%S") if value else ""


ROW_URLS: dict[tuple, str] = {}
_MARK = 918_273_645  # an id no address holds otherwise: where each id goes


@register.simple_tag
def row_url(name: str, *ids) -> str:
    """`{% url name id… %}` for ids that are integers: the address is reversed once for each name (and prefix and
    URL configuration), then filled in."""
    key = (name, len(ids), get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
    pattern = ROW_URLS.get(key)
    if pattern is None:
        marks = [str(_MARK + n) for n in range(len(ids))]
        pattern = reverse(name, args=marks).replace("{", "{{").replace("}", "}}")
        for n, mark in enumerate(marks):
            if pattern.count(mark) != 1:
                return reverse(name, args=ids)
            pattern = pattern.replace(mark, f"{{{n}}}")
        ROW_URLS[key] = pattern
    return pattern.format(*(int(value) for value in ids))
