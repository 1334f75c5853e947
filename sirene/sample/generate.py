"""Writes a made-up SIRENE stock in INSEE's column format: `python -m sirene.sample.generate [--rows N] [--zip] DIR`.

The repository's sample (`sirene/sample/*.csv`) is this script's output with its defaults: a few hundred farms,
companies and sole traders, open and closed, a few partly public (`statutDiffusion…` « P », their withheld
columns written « [ND] » as INSEE does). Every SIRET and SIREN has a right key; the names and addresses are
invented. `--rows 1000000` writes the file the import is measured with (README, « Répertoire SIRENE »).
Nothing here reads Django: it runs before the portal is installed.
"""

import argparse
import csv
import random
import zipfile
from pathlib import Path

ESTABLISHMENT_HEADER = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "dateCreationEtablissement",
    "trancheEffectifsEtablissement",
    "anneeEffectifsEtablissement",
    "activitePrincipaleRegistreMetiersEtablissement",
    "dateDernierTraitementEtablissement",
    "etablissementSiege",
    "nombrePeriodesEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "dernierNumeroVoieEtablissement",
    "indiceRepetitionDernierNumeroVoieEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "libelleCommuneEtrangerEtablissement",
    "distributionSpecialeEtablissement",
    "codeCommuneEtablissement",
    "codeCedexEtablissement",
    "libelleCedexEtablissement",
    "codePaysEtrangerEtablissement",
    "libellePaysEtrangerEtablissement",
    "identifiantAdresseEtablissement",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
    "complementAdresse2Etablissement",
    "numeroVoie2Etablissement",
    "indiceRepetition2Etablissement",
    "typeVoie2Etablissement",
    "libelleVoie2Etablissement",
    "codePostal2Etablissement",
    "libelleCommune2Etablissement",
    "libelleCommuneEtranger2Etablissement",
    "distributionSpeciale2Etablissement",
    "codeCommune2Etablissement",
    "codeCedex2Etablissement",
    "libelleCedex2Etablissement",
    "codePaysEtranger2Etablissement",
    "libellePaysEtranger2Etablissement",
    "dateDebut",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "enseigne2Etablissement",
    "enseigne3Etablissement",
    "denominationUsuelleEtablissement",
    "activitePrincipaleEtablissement",
    "nomenclatureActivitePrincipaleEtablissement",
    "caractereEmployeurEtablissement",
]
LEGAL_UNIT_HEADER = [
    "siren",
    "statutDiffusionUniteLegale",
    "unitePurgeeUniteLegale",
    "dateCreationUniteLegale",
    "sigleUniteLegale",
    "sexeUniteLegale",
    "prenom1UniteLegale",
    "prenom2UniteLegale",
    "prenom3UniteLegale",
    "prenom4UniteLegale",
    "prenomUsuelUniteLegale",
    "pseudonymeUniteLegale",
    "identifiantAssociationUniteLegale",
    "trancheEffectifsUniteLegale",
    "anneeEffectifsUniteLegale",
    "dateDernierTraitementUniteLegale",
    "nombrePeriodesUniteLegale",
    "categorieEntreprise",
    "anneeCategorieEntreprise",
    "dateDebut",
    "etatAdministratifUniteLegale",
    "nomUniteLegale",
    "nomUsageUniteLegale",
    "denominationUniteLegale",
    "denominationUsuelle1UniteLegale",
    "denominationUsuelle2UniteLegale",
    "denominationUsuelle3UniteLegale",
    "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale",
    "nomenclatureActivitePrincipaleUniteLegale",
    "nicSiegeUniteLegale",
    "economieSocialeSolidaireUniteLegale",
    "societeMissionUniteLegale",
    "caractereEmployeurUniteLegale",
]
WITHHELD = "[ND]"

# The rows the tests and the README name, first in the files.
KNOWN = [
    # SIREN and NIC before their keys, kind, name or (first name, last name), street, postal code, city, state,
    # diffusion status
    ("73282932", "0001", "company", "EARL DU PLATEAU", ("12", "B", "RTE", "DE LA FORET"), "26400", "CREST", "A", "O"),
    ("41232789", "0001", "person", ("JEANNE", "MARTIN"), ("4", "", "CHE", "DES VIGNES"), "35000", "RENNES", "A", "O"),
    ("55208131", "0001", "company", "GAEC DES SAULES", ("", "", "LD", "LES SAULES"), "56000", "VANNES", "F", "O"),
    ("38012986", "0001", "person", ("PAUL", "LEFEBVRE"), ("7", "", "RUE", "DU MOULIN"), "26000", "VALENCE", "A", "P"),
]
COMPANY_FORMS = [("EARL", "5498"), ("GAEC", "6533"), ("SCEA", "6540"), ("CUMA", "6317"), ("SARL", "5499")]
PLACES = [
    ("26400", "CREST"),
    ("26000", "VALENCE"),
    ("35000", "RENNES"),
    ("56000", "VANNES"),
    ("29200", "BREST"),
    ("33000", "BORDEAUX"),
    ("51100", "REIMS"),
    ("84000", "AVIGNON"),
    ("97410", "SAINT-PIERRE"),
    ("20000", "AJACCIO"),
]
WORDS = ["DES CHENES", "DU MOULIN", "DE LA COLLINE", "DES PRES", "DU VALLON", "DES TILLEULS", "DE LA SOURCE", "DU BOIS"]
FIRST_NAMES = ["MARIE", "PIERRE", "LUCIE", "JEAN", "CAMILLE", "LOUIS", "ANNE", "HUGO"]
LAST_NAMES = ["DURAND", "MOREAU", "GIRARD", "ROUX", "FOURNIER", "MERCIER", "BLANC", "GARNIER"]
STREET_TYPES = ["RTE", "CHE", "RUE", "LD", "IMP", "AV", "HAM"]


def luhn_completed(digits: str) -> str:
    """`digits` followed by the one digit that makes the Luhn sum a multiple of 10 (SIREN, SIRET keys)."""
    for key in "0123456789":
        candidate = digits + key
        total = 0
        for position, digit in enumerate(reversed(candidate)):
            value = int(digit) * (2 if position % 2 else 1)
            total += value - 9 if value > 9 else value
        if total % 10 == 0:
            return candidate
    raise AssertionError("a Luhn key always exists")


def units(count: int, rng: random.Random):
    """(legal unit row, its establishments' rows) for the known rows, then `count` made-up ones."""
    for known in KNOWN:
        yield _unit(*known)
    for number in range(count):
        siren_base = f"{10_000_000 + number * 7919 % 89_000_000:08d}"
        if any(siren_base == known[0] for known in KNOWN):
            continue
        postal_code, city = rng.choice(PLACES)
        street = (str(rng.randint(1, 120)), rng.choice(["", "", "", "B"]), rng.choice(STREET_TYPES), rng.choice(WORDS))
        if rng.random() < 0.4:
            name = (rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
            kind = "person"
        else:
            form, _ = rng.choice(COMPANY_FORMS)
            name = f"{form} {rng.choice(WORDS)}"
            kind = "company"
        state = "F" if rng.random() < 0.08 else "A"
        diffusion = "P" if kind == "person" and rng.random() < 0.15 else "O"
        yield _unit(siren_base, "0001", kind, name, street, postal_code, city, state, diffusion)


def _unit(siren_base, nic_base, kind, name, street, postal_code, city, state, diffusion):
    siren = luhn_completed(siren_base)
    siret = luhn_completed(siren + nic_base)
    unit = dict.fromkeys(LEGAL_UNIT_HEADER, "")
    unit.update(
        siren=siren,
        statutDiffusionUniteLegale=diffusion,
        dateCreationUniteLegale="2009-03-01",
        dateDernierTraitementUniteLegale="2026-10-14T09:12:00",
        nombrePeriodesUniteLegale="1",
        dateDebut="2009-03-01",
        etatAdministratifUniteLegale="C" if state == "F" else "A",
        activitePrincipaleUniteLegale="01.11Z",
        nomenclatureActivitePrincipaleUniteLegale="NAFRev2",
        nicSiegeUniteLegale=siret[9:],
        caractereEmployeurUniteLegale="N",
    )
    if kind == "person":
        first_name, last_name = name
        unit.update(
            categorieJuridiqueUniteLegale="1000",
            sexeUniteLegale="[ND]" if diffusion == "P" else "M",
            prenom1UniteLegale=first_name,
            prenomUsuelUniteLegale=first_name,
            nomUniteLegale=last_name,
        )
    else:
        form = dict(COMPANY_FORMS).get(name.split()[0], "5499")
        unit.update(categorieJuridiqueUniteLegale=form, denominationUniteLegale=name)
    number, repetition, street_type, street_name = street
    establishment = dict.fromkeys(ESTABLISHMENT_HEADER, "")
    establishment.update(
        siren=siren,
        nic=siret[9:],
        siret=siret,
        statutDiffusionEtablissement=diffusion,
        dateCreationEtablissement="2009-03-01",
        dateDernierTraitementEtablissement="2026-10-14T09:12:00",
        etablissementSiege="true",
        nombrePeriodesEtablissement="1",
        numeroVoieEtablissement=WITHHELD if diffusion == "P" else number,
        indiceRepetitionEtablissement=WITHHELD if diffusion == "P" else repetition,
        typeVoieEtablissement=WITHHELD if diffusion == "P" else street_type,
        libelleVoieEtablissement=WITHHELD if diffusion == "P" else street_name,
        codePostalEtablissement=postal_code,
        libelleCommuneEtablissement=city,
        dateDebut="2009-03-01",
        etatAdministratifEtablissement=state,
        activitePrincipaleEtablissement="01.11Z",
        nomenclatureActivitePrincipaleEtablissement="NAFRev2",
        caractereEmployeurEtablissement="N",
    )
    return unit, [establishment]


def write(directory: Path, *, rows: int, seed: int = 2026, zipped: bool = False) -> tuple[Path, Path]:
    """Writes the two files into `directory`; returns their paths (establishments, legal units)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)  # noqa: S311  (made-up data, the same at each run)
    establishments_path = directory / "StockEtablissement_sample.csv"
    legal_units_path = directory / "StockUniteLegale_sample.csv"
    with (
        establishments_path.open("w", newline="", encoding="utf-8") as establishments_file,
        legal_units_path.open("w", newline="", encoding="utf-8") as legal_units_file,
    ):
        establishments = csv.DictWriter(establishments_file, ESTABLISHMENT_HEADER, lineterminator="\n")
        legal_units = csv.DictWriter(legal_units_file, LEGAL_UNIT_HEADER, lineterminator="\n")
        establishments.writeheader()
        legal_units.writeheader()
        for unit, unit_establishments in units(rows - len(KNOWN), rng):
            legal_units.writerow(unit)
            establishments.writerows(unit_establishments)
    if not zipped:
        return establishments_path, legal_units_path
    archives = []
    for path in (establishments_path, legal_units_path):
        archive = path.with_suffix(".zip")
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as stream:
            stream.write(path, path.name)
        path.unlink()
        archives.append(archive)
    return archives[0], archives[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--rows", type=int, default=300, help="establishments to write (300)")
    parser.add_argument("--zip", action="store_true", help="each file in a ZIP, as INSEE ships them")
    arguments = parser.parse_args()
    for path in write(arguments.directory, rows=arguments.rows, zipped=arguments.zip):
        print(path)


if __name__ == "__main__":
    main()
