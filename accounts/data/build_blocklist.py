"""Builds common-password-stems.txt.gz, the blocklist behind PolicyBlocklistValidator.

People told « 12 characters, 3 kinds among upper, lower, digit, special » take
a common password or word, capitalise it and pad it with a year, a run of
digits or a « ! »: « Azerty123456! », « Motdepasse2024 », « Soleil1975!! ».
Listing every padding of every word would take millions of lines, so the list
holds the stems instead: Django's 20,000 common passwords and French words,
lower-cased, leetspeak undone, padding stripped. The validator strips the same
padding from a password and refuses it when what is left is a listed stem.

The strength meter evaluates the same rule in the browser: this also writes
static/accounts/common-passwords.json, the stems and the few common passwords
they do not cover (« 123456 », whose stem is empty), compared whole.

Run: python accounts/data/build_blocklist.py
"""

import gzip
import json
import sys
from pathlib import Path

import django.contrib.auth.password_validation as django_validation

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from accounts.validators import BROWSER_LIST_PATH, STEMS_PATH, password_stem  # noqa: E402

FRENCH_WORDS = [
    "azerty",
    "azertyuiop",
    "qwerty",
    "qwertz",
    "motdepasse",
    "monmotdepasse",
    "bonjour",
    "bonsoir",
    "soleil",
    "chocolat",
    "doudou",
    "loulou",
    "marseille",
    "paris",
    "lyon",
    "toulouse",
    "nantes",
    "bordeaux",
    "lille",
    "rennes",
    "strasbourg",
    "montpellier",
    "france",
    "bretagne",
    "normandie",
    "auvergne",
    "provence",
    "alsace",
    "tracteur",
    "agriculteur",
    "agricultrice",
    "agricole",
    "agriculture",
    "ferme",
    "fermier",
    "fermiere",
    "exploitation",
    "exploitant",
    "vache",
    "vaches",
    "cheval",
    "chevaux",
    "moisson",
    "moissonneuse",
    "vigne",
    "vignoble",
    "vigneron",
    "vendange",
    "cereales",
    "elevage",
    "eleveur",
    "laitier",
    "fromage",
    "jardin",
    "potager",
    "champ",
    "chorus",
    "choruspro",
    "impots",
    "tresor",
    "budget",
    "finances",
    "douane",
    "douanes",
    "remboursement",
    "gazole",
    "fioul",
    "administrateur",
    "utilisateur",
    "bienvenue",
    "amour",
    "jetaime",
    "chouchou",
    "cheri",
    "cherie",
    "maman",
    "papa",
    "famille",
    "enfants",
    "bebe",
    "princesse",
    "football",
    "olympique",
    "allezlom",
    "nicolas",
    "julien",
    "thomas",
    "camille",
    "manon",
    "marie",
    "pierre",
    "jean",
    "michel",
    "philippe",
    "christophe",
    "stephane",
    "isabelle",
    "nathalie",
    "sylvie",
    "catherine",
    "sandrine",
    "valerie",
    "sophie",
    "celine",
    "aurelie",
    "julie",
    "laura",
    "sarah",
    "lucas",
    "hugo",
    "gabriel",
    "louis",
    "arthur",
    "jules",
    "emma",
    "jade",
    "louise",
    "alice",
    "chloe",
    "printemps",
    "automne",
    "hiver",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
]


def django_common_passwords() -> list[str]:
    path = Path(django_validation.__file__).resolve().parent / "common-passwords.txt.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [line.strip() for line in lines]


def build() -> set[str]:
    stems = {password_stem(word) for word in django_common_passwords() + FRENCH_WORDS}
    # Short stems would refuse too much (« Ab12!cd… »); 4 letters is the floor.
    return {stem for stem in stems if len(stem) >= 4}


def browser_list(stems: set[str]) -> dict[str, list[str]]:
    """What the meter needs to agree with the server: the stems, and Django's passwords that no stem covers."""
    uncovered = {password for password in django_common_passwords() if password_stem(password) not in stems}
    return {"stems": sorted(stems), "whole": sorted(uncovered)}


if __name__ == "__main__":
    stems = build()
    # No time stamp in the archive: an unchanged list rebuilds to the same bytes.
    with gzip.GzipFile(STEMS_PATH, "wb", compresslevel=9, mtime=0) as out:
        out.write(("\n".join(sorted(stems)) + "\n").encode())
    print(f"{len(stems)} stems written to {STEMS_PATH.name}")
    BROWSER_LIST_PATH.parent.mkdir(exist_ok=True)
    BROWSER_LIST_PATH.write_text(json.dumps(browser_list(stems), separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"and the meter's copy to {BROWSER_LIST_PATH.name}")
