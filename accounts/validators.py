"""Password rules: the memento's complexity rule and what CNIL asks beside it."""

import gzip
import re
import unicodedata
from functools import cache
from pathlib import Path

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

STEMS_PATH = Path(__file__).resolve().parent / "data" / "common-password-stems.txt.gz"
# The same lists for the strength meter, which says « trop courant » before the form is sent
# (static/js/portal.js); written with the stems by `accounts/data/build_blocklist.py`.
BROWSER_LIST_PATH = Path(__file__).resolve().parent.parent / "static" / "accounts" / "common-passwords.json"

CHARACTER_CLASSES = {
    "upper": ("une majuscule", str.isupper),
    "lower": ("une minuscule", str.islower),
    "digit": ("un chiffre", str.isdigit),
    "special": ("un caractère spécial", lambda c: not c.isalnum()),
}


def character_classes(password: str) -> set[str]:
    """The classes (upper, lower, digit, special) that the password uses."""
    return {name for name, (_, test) in CHARACTER_CLASSES.items() if any(test(c) for c in password)}


class CharacterClassesValidator:
    """At least 3 of the 4 classes: upper case, lower case, digit, special (memento)."""

    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password, user=None):
        if len(character_classes(password)) < self.min_classes:
            raise ValidationError(
                "Le mot de passe doit contenir au moins 3 types de caractères parmi : "
                "majuscule, minuscule, chiffre, caractère spécial.",
                code="password_too_simple",
            )

    def get_help_text(self):
        return "Au moins 3 types de caractères parmi majuscule, minuscule, chiffre, caractère spécial."


class MaximumLengthValidator:
    """Long passphrases are welcome, up to a bound that keeps hashing cheap."""

    def __init__(self, max_length: int = 128):
        self.max_length = max_length

    def validate(self, password, user=None):
        if len(password) > self.max_length:
            raise ValidationError(
                f"Le mot de passe ne doit pas dépasser {self.max_length} caractères.",
                code="password_too_long",
            )

    def get_help_text(self):
        return f"{self.max_length} caractères au plus."


def said_by_another(validator_class, password, user=None) -> bool:
    """Whether a configured validator of this class already refuses the password.

    Django collects one message per validator: two validators checking the same rule
    (Django's own and the portal's stricter one) would say it twice. The portal's
    stays silent when Django's has spoken.
    """
    for validator in password_validation.get_default_password_validators():
        if type(validator) is validator_class:
            try:
                validator.validate(password, user)
            except ValidationError:
                return True
    return False


def _fold(text: str) -> str:
    """Lower-case letters and digits only, accents removed: « Éric-2 » → « eric2 »."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", text.lower())


class PersonalDataValidator:
    """Refuses a password built on the user's e-mail, names or SIRET.

    Django's similarity validator compares whole strings; this one looks for
    each piece of personal data inside the password, as guessers do.
    """

    min_piece = 4

    def validate(self, password, user=None):
        if user is None:
            return
        folded = _fold(password)
        if not any(len(piece) >= self.min_piece and piece in folded for piece in self._pieces(user)):
            return
        if said_by_another(password_validation.UserAttributeSimilarityValidator, password, user):
            return
        raise ValidationError(
            "Le mot de passe ne doit pas contenir votre adresse électronique, votre nom, votre prénom ou votre SIRET.",
            code="password_personal_data",
        )

    def _pieces(self, user):
        email = getattr(user, "email", "") or ""
        local, _, domain = email.partition("@")
        yield _fold(local)
        yield from (_fold(part) for part in re.split(r"[._+-]", local))
        yield _fold(domain.split(".")[0])
        yield _fold(getattr(user, "first_name", "") or "")
        yield _fold(getattr(user, "last_name", "") or "")
        # At activation, the SIRET typed at sign-up: its structure or request comes after the password.
        sirets = [getattr(user, "signup_siret", "")]
        if user.pk:  # those of its structures and requests, in one query
            sirets += (
                user.memberships.order_by()
                .values_list("structure__siret", flat=True)
                .union(user.approval_requests.order_by().values_list("structure__siret", flat=True))
            )
        for siret in filter(None, sirets):
            yield siret
            yield siret[:9]

    def get_help_text(self):
        return "Ni votre adresse électronique, ni votre nom, ni votre SIRET."


LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})


def password_stem(password: str) -> str:
    """What is left of a password once its predictable padding is taken off.

    « Azerty123456! » → « azerty », « P@ssw0rd2024 » → « password »: the
    digits and specials around it are dropped, case and leetspeak undone.
    """
    core = password.lower().strip("0123456789!?*.@#$%&_-+=/\\ ")
    return core.translate(LEET)


@cache
def common_stems() -> frozenset[str]:
    with gzip.open(STEMS_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


@cache
def common_passwords() -> frozenset[str]:
    """Django's 20,000 common passwords, compared whole, as its CommonPasswordValidator does."""
    return frozenset(password_validation.CommonPasswordValidator().passwords)


def is_common(password: str) -> bool:
    """A common password, whole or padded (« Moissonneuse#2026 »): the rule the meter evaluates too."""
    return password_stem(password) in common_stems() or password.lower().strip() in common_passwords()


class PolicyBlocklistValidator:
    """Refuses common passwords that nevertheless satisfy the complexity rule.

    Django's list holds only a handful of passwords of 12+ characters and 3
    classes. This one refuses a common password or word dressed up to pass
    the rule (« Azerty123456! », « Motdepasse2024 »), and Django's list too,
    so that it alone decides what the meter calls « trop courant »; the list
    of stems is built by `accounts/data/build_blocklist.py`. When Django's
    validator is configured as well and refuses, it has said it: once is enough.
    """

    def validate(self, password, user=None):
        if is_common(password) and not said_by_another(password_validation.CommonPasswordValidator, password):
            raise ValidationError(
                "Ce mot de passe est trop courant : un mot connu suivi de chiffres ou de "
                "caractères spéciaux se devine vite. Choisissez-en un moins prévisible.",
                code="password_too_common",
            )

    def get_help_text(self):
        return "Pas un mot de passe courant, même complété de chiffres."
