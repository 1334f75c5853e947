"""The SIRENE directory (`sirene`) as the structures use it.

While no stock is in service, none of this changes anything: a SIRET with a right key is enough, and the
farmer types the name and address. Once one is:
- a closed establishment is refused where a SIRET is typed to create a structure (`refuse_closed`);
- a new structure takes the directory's name, address and VAT number (`creation_values`; a partly public
  address, its commune only), and is marked absent when the stock does not hold its SIRET;
- each new stock marks every structure again (`receivers.mark_all`), since a farm missing from one month's
  stock may be in the next.
"""

from django.core.exceptions import ValidationError

from sirene import directory
from sirene.directory import Listed, Unlisted
from structures.models import SireneState, Structure
from structures.validators import vat_number_for


def refuse_closed(siret: str) -> Listed | Unlisted | None:
    """The directory's word on a SIRET typed to create a structure (returned); a closed establishment is refused,
    unless its structure is on the portal already: joining it (an accountant, for the years it was open) creates
    nothing."""
    found = directory.look_up(siret)
    if isinstance(found, Listed) and found.closed and not Structure.objects.filter(siret=siret).exists():
        raise ValidationError(
            f"Cet établissement est fermé selon le répertoire SIRENE (stock du {found.stock_date:%d/%m/%Y}).",
            code="siret_closed",
        )
    return found


def values_of(found: Listed | Unlisted | None, siren: str) -> dict:
    """A new structure's fields from the directory: the name, the address and the VAT number of a listed SIRET,
    its mark either way; nothing without a directory."""
    if found is None:
        return {}
    if isinstance(found, Unlisted):
        return {"sirene_state": SireneState.UNLISTED, "sirene_stock_date": found.stock_date}
    # A partly public address is not the directory's to give, even to whoever creates the structure (nothing
    # proves yet that they are the establishment): its commune only, the rest is typed by its manager.
    street = (
        {}
        if found.restricted
        else {"address": found.address[:200], "address_complement_1": found.address_complement[:200]}
    )
    return {
        "name": found.name[:200],
        **street,
        "postal_code": found.postal_code[:10],
        "city": found.city[:100],
        "country": "FR",
        "vat_number": vat_number_for(siren),
        "sirene_state": SireneState.CLOSED if found.closed else SireneState.LISTED,
        "sirene_stock_date": found.stock_date,
        "address_restricted": found.restricted,
    }


def creation_values(siret: str) -> dict:
    return values_of(directory.look_up(siret), siret[:9])
