"""What the portal asks of the SIRENE directory: is one loaded, and what does it say of a SIRET.

`look_up` answers `None` while no stock is in service (the portal then works as it did without one), `Unlisted`
for a SIRET the stock does not hold (a farm created since the stock was written), and `Listed` otherwise, with
the name and address INSEE gives, ready to fill in a structure. One query reads the establishment and its legal
unit together, so a reader never mixes two imports (`importer.load` replaces one while the portal reads).
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import OuterRef, Subquery
from django.db.models.functions import Substr

from sirene.models import Diffusion, Establishment, LegalUnit, Stock

# INSEE writes « [ND] » (non diffusible) where a partly public unit's data are withheld.
WITHHELD = "[ND]"

# `typeVoieEtablissement`: INSEE's codes for the kinds of street, written out as on an envelope (AFNOR, capitals).
STREET_TYPES = {
    "ALL": "ALLÉE",
    "AV": "AVENUE",
    "BD": "BOULEVARD",
    "CAR": "CARREFOUR",
    "CHE": "CHEMIN",
    "CHS": "CHAUSSÉE",
    "CITE": "CITÉ",
    "COR": "CORNICHE",
    "CRS": "COURS",
    "DOM": "DOMAINE",
    "DSC": "DESCENTE",
    "ECA": "ÉCART",
    "ESP": "ESPLANADE",
    "FG": "FAUBOURG",
    "GR": "GRANDE RUE",
    "HAM": "HAMEAU",
    "HLE": "HALLE",
    "IMP": "IMPASSE",
    "LD": "LIEU-DIT",
    "LOT": "LOTISSEMENT",
    "MAR": "MARCHÉ",
    "MTE": "MONTÉE",
    "PAS": "PASSAGE",
    "PL": "PLACE",
    "PLN": "PLAINE",
    "PLT": "PLATEAU",
    "PRO": "PROMENADE",
    "PRV": "PARVIS",
    "QUA": "QUARTIER",
    "QUAI": "QUAI",
    "RES": "RÉSIDENCE",
    "RLE": "RUELLE",
    "ROC": "ROCADE",
    "RPT": "ROND-POINT",
    "RTE": "ROUTE",
    "RUE": "RUE",
    "SEN": "SENTIER",
    "SQ": "SQUARE",
    "TPL": "TERRE-PLEIN",
    "TRA": "TRAVERSE",
    "VLA": "VILLA",
    "VLGE": "VILLAGE",
}
# `indiceRepetitionEtablissement`: 12 B is « 12 BIS ».
REPETITIONS = {"B": "BIS", "T": "TER", "Q": "QUATER", "C": "QUINQUIES"}

UNIT_FIELDS = ["diffusion", "denomination", "last_name", "usage_name", "first_name", "usual_first_name"]


@dataclass(frozen=True)
class Unlisted:
    """The stock in service does not hold this SIRET."""

    siret: str
    stock_date: date


@dataclass(frozen=True)
class Listed:
    """What the stock says of an establishment and its legal unit."""

    siret: str
    stock_date: date
    closed: bool
    # Partly public (the establishment's or its unit's diffusion status is « P »): the address is for the
    # structure's managers and staff only.
    restricted: bool
    name: str
    address: str
    address_complement: str
    postal_code: str
    city: str


def stock_in_service() -> Stock | None:
    return Stock.objects.filter(state=Stock.State.CURRENT).first()


def look_up(siret: str) -> Listed | Unlisted | None:
    """The directory's word on a SIRET (14 digits), or `None` while no directory is loaded.

    Without a directory, one short query answers: the establishment's, with its legal unit's
    subqueries, costs a few milliseconds to build, which sign-up and activation would pay for nothing.
    """
    stock = stock_in_service()
    if stock is None:
        return None
    unit = LegalUnit.objects.filter(stock=OuterRef("stock"), siren=Substr(OuterRef("siret"), 1, 9))
    row = (
        Establishment.objects.filter(stock__state=Stock.State.CURRENT, siret=siret)
        .select_related("stock")
        .annotate(**{f"unit_{name}": Subquery(unit.values(name)[:1]) for name in UNIT_FIELDS})
        .first()
    )
    if row is None:
        # Replaced meanwhile, the stock read first is still the word of the moment the page asked.
        return Unlisted(siret, stock.stock_date)
    return Listed(
        siret=siret,
        stock_date=row.stock.stock_date,
        closed=row.state == Establishment.State.CLOSED,
        restricted=Diffusion.PARTIAL in (row.diffusion, row.unit_diffusion),
        name=name_of(row),
        address=street_line(row),
        address_complement=shown(row.address_complement),
        postal_code=shown(row.postal_code),
        city=shown(row.city),
    )


def shown(value: str | None) -> str:
    """A column's value, without what INSEE withheld."""
    return "" if value is None or value == WITHHELD else value.strip()


def name_of(row) -> str:
    """The legal unit's denomination; a sole trader's usual first name and name; else the establishment's own
    name."""
    if denomination := shown(row.unit_denomination):
        return denomination
    last_name = shown(row.unit_last_name) or shown(row.unit_usage_name)  # the name at birth, as on the register
    first_name = shown(row.unit_usual_first_name) or shown(row.unit_first_name)
    if last_name:
        return f"{first_name.title()} {last_name.upper()}".strip()
    return shown(row.usual_name) or shown(row.sign)


def street_line(row) -> str:
    """« 12 BIS ROUTE DE LA FERME » from the number, its repetition index, the street's type and name."""
    street_type = shown(row.street_type)
    repetition = shown(row.repetition_index)
    parts = [
        shown(row.street_number),
        REPETITIONS.get(repetition.upper(), repetition),
        STREET_TYPES.get(street_type.upper(), street_type),
        shown(row.street_name),
    ]
    return " ".join(part for part in parts if part)
