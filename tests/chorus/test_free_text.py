"""`chorus.mail.free_text`: someone's words, fit to quote in a mail to someone else."""

import pytest

from chorus.mail import free_text


@pytest.mark.parametrize(
    ("typed", "quoted"),
    [
        ("Voir https://impots.example/x?a=1", "Voir https[:]//impots[.]example/x?a=1"),
        ("HTTP://EXEMPLE.FR", "HTTP[:]//EXEMPLE[.]FR"),
        ("www.exemple.fr", "www[.]exemple[.]fr"),
        ("exemple.fr/aide", "exemple[.]fr/aide"),
        ("écrivez à jean.dupont@exemple.fr", "écrivez à jean[.]dupont@exemple[.]fr"),
        ("http://192.168.0.1/connexion", "http[:]//192[.]168[.]0[.]1/connexion"),
        ("пример.рф", "пример[.]рф"),
        ("exemple\u3002fr et exemple\uff0efr", "exemple[.]fr et exemple[.]fr"),
        ("evil\u200b.fr", "evil[.]fr"),
        ("\u202erf.live\u202c", "rf[.]live"),
    ],
)
def test_addresses_lose_what_makes_them_clickable_and_stay_readable(typed, quoted):
    assert free_text(typed) == quoted


@pytest.mark.parametrize(
    "typed",
    ["3.5 ha de blé, 1.000 € de gazole", "Version 2.0.", "EARL du Champ. Salariée depuis 2019.", "Élodie Müller"],
)
def test_words_and_numbers_stay_as_typed(typed):
    assert free_text(typed) == typed


def test_line_breaks_and_runs_of_spaces_make_one_paragraph():
    assert free_text("Bonjour,\r\n\r\n\u2028Je suis   salariée.\n\n\n-- \nRomane") == (
        "Bonjour, Je suis salariée. -- Romane"
    )


def test_long_text_is_cut_at_a_word_then_marked():
    text = free_text("mot " * 200)

    assert text.endswith("mot …") and len(text) <= 302


def test_a_word_longer_than_the_limit_is_cut_inside():
    assert free_text("a" * 500, length=10) == "aaaaaaaaaa …"
