"""`chorus.validators.validate_email_address`: addresses that cannot be mailed or pass for another one."""

import pytest
from django.core.exceptions import ValidationError

from chorus.validators import validate_email_address


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("carol@\u0430.test", "email_mixed_scripts"),  # Cyrillic « а » beside a Latin TLD
        ("carol@xn--80a.test", "email_mixed_scripts"),  # the same, typed in its ASCII form
        ("carol@ex\u0430mple.fr", "email_mixed_scripts"),
        ("c\u0430rol@a.test", "email_mixed_scripts"),
        ("carol@\u03b1\u03b8\u03b7\u03bd\u03b1.test", "email_mixed_scripts"),  # Greek
        ("carol@a\u2028b.test", "email_separator"),
        ("carol@a.te\u2029st", "email_separator"),
        ("car\u00a0ol@a.test", "email_separator"),
        ("carol@a\u3000b.test", "email_separator"),
        ("carol@xn--zz.test", "email_domain"),
    ],
)
def test_refused(address, code):
    with pytest.raises(ValidationError) as refused:
        validate_email_address(address)

    assert refused.value.code == code


@pytest.mark.parametrize(
    "address",
    [
        "carol@a.test",
        "jeanne@ex\u00e9mple.fr",  # accented Latin
        "jeanne@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",  # пример.рф, wholly Cyrillic
        "jeanne@xn--e1afmkfd.xn--p1ai",  # the same in its ASCII form
        "jeanne@\u65e5\u672c\u8a9e\u306e\u30c9\u30e1\u30a4\u30f3",  # Japanese: kanji, hiragana and katakana together
        "jean-2.dupont_3@sous-domaine.exemple-1.fr",
        "pas-une-adresse",  # no @: the e-mail field says what is wrong with it
    ],
)
def test_accepted(address):
    validate_email_address(address)


def test_the_message_names_the_part_and_the_scripts():
    with pytest.raises(ValidationError) as refused:
        validate_email_address("carol@\u0430.test")

    assert refused.value.messages == [
        "Le nom de domaine (après le @) de l'adresse électronique mélange plusieurs alphabets (cyrillique et latin), "
        "comme le font les adresses qui en imitent une autre : ressaisissez l'adresse au clavier."
    ]
