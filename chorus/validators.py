"""Field rules every layer shares: spaces people type, and telephone numbers (users and structures alike)."""

import phonenumbers
from django.core.exceptions import ValidationError


def squeeze_spaces(value: str) -> str:
    """« EARL   du  Champ » → « EARL du Champ »: names as people meant them."""
    return " ".join(value.split())


def clean_phone_number(value: str) -> str:
    """A French or international number, stored as E.164 (+33612345678)."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "FR")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            "Saisissez un numéro de téléphone valide, par exemple 06 12 34 56 78 ou +33 6 12 34 56 78.",
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_for_display(value: str) -> str:
    """+33475123456 → « 04 75 12 34 56 »; foreign numbers in international format."""
    if not value:
        return value
    try:
        number = phonenumbers.parse(value)
    except phonenumbers.NumberParseException:
        return value
    formats = phonenumbers.PhoneNumberFormat
    return phonenumbers.format_number(number, formats.NATIONAL if number.country_code == 33 else formats.INTERNATIONAL)
