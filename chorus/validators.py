"""Field rules every layer shares: spaces people type, e-mail addresses, and telephone numbers (users and
structures alike)."""

import unicodedata

import phonenumbers
from confusable_homoglyphs import categories
from django.core.exceptions import ValidationError

EMAIL_SEPARATOR = (
    "L'adresse électronique contient un espace ou un saut de ligne, parfois invisible quand elle est copiée-collée : "
    "ressaisissez-la au clavier, sans espace."
)
EMAIL_MIXED_SCRIPTS = (
    "{part} de l'adresse électronique mélange plusieurs alphabets ({scripts}), comme le font les adresses qui en "
    "imitent une autre : ressaisissez l'adresse au clavier."
)
EMAIL_BAD_DOMAIN = "Le nom de domaine (après le @) n'est pas valide : vérifiez l'adresse électronique."
# Scripts that one writing system uses together (Unicode TS #39): Japanese, Korean, Chinese with bopomofo.
_WRITTEN_TOGETHER = [{"HAN", "HIRAGANA", "KATAKANA"}, {"HAN", "HANGUL"}, {"HAN", "BOPOMOFO"}]
_SCRIPT_NAMES = {
    "LATIN": "latin",
    "CYRILLIC": "cyrillique",
    "GREEK": "grec",
    "ARMENIAN": "arménien",
    "GEORGIAN": "géorgien",
    "HEBREW": "hébreu",
    "ARABIC": "arabe",
    "HAN": "chinois",
    "HANGUL": "coréen",
    "THAI": "thaï",
}


def squeeze_spaces(value: str) -> str:
    """« EARL   du  Champ » → « EARL du Champ »: names as people meant them."""
    return " ".join(value.split())


def validate_email_address(value: str) -> None:
    """Refuses an address that cannot be mailed or that passes for another one.

    Python's mail module takes the line and paragraph separators (U+2028, U+2029) for
    line breaks, so a mail to an address holding one can never be built; no address holds
    a space of any kind. Within the local part, or within the domain, every letter is of
    one script: `carol@а.test` (a Cyrillic « а ») would otherwise sit beside
    `carol@a.test`. Digits, hyphens and accents belong to every script, so `exémple.fr`
    and a domain wholly in Cyrillic (`пример.рф`) are accepted. A domain typed in its
    ASCII form (`xn--80a.test`) is read as what it stands for.
    """
    if any(unicodedata.category(character).startswith("Z") for character in value):
        raise ValidationError(EMAIL_SEPARATOR, code="email_separator")
    local, at, domain = value.rpartition("@")
    if not at:
        return  # not an address at all: the e-mail field says so
    try:
        domain = ".".join(
            label.encode("ascii").decode("idna") if label.lower().startswith("xn--") else label
            for label in domain.split(".")
        )
    except UnicodeError:
        raise ValidationError(EMAIL_BAD_DOMAIN, code="email_domain") from None
    for part, text in [("La partie avant le @", local), ("Le nom de domaine (après le @)", domain)]:
        scripts = categories.unique_aliases(text) - {"COMMON", "INHERITED"}
        if len(scripts) > 1 and not any(scripts <= together for together in _WRITTEN_TOGETHER):
            names = sorted(_SCRIPT_NAMES.get(script, script.lower().replace("_", " ")) for script in scripts)
            raise ValidationError(
                EMAIL_MIXED_SCRIPTS.format(part=part, scripts=", ".join(names[:-1]) + " et " + names[-1]),
                code="email_mixed_scripts",
            )


# The one example of a telephone number: the fields' hint and the error both show it, so they never disagree.
PHONE_EXAMPLE = "06 12 34 56 78 ou +33 6 12 34 56 78"
PHONE_HINT = f"Exemple : {PHONE_EXAMPLE}"


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
            f"Saisissez un numéro de téléphone valide, par exemple {PHONE_EXAMPLE}.",
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
