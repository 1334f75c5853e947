"""Each new SIRENE stock marks every structure again: listed, closed or absent, and whether its address is
partly public. One statement, whatever the number of structures, inside the transaction that puts the stock
in service."""

from django.db.models import Case, Exists, F, OuterRef, Value, When
from django.db.models.functions import Substr
from django.dispatch import receiver

from sirene.models import Diffusion, Establishment, LegalUnit
from sirene.signals import stock_replaced
from structures.models import SireneState, Structure


@receiver(stock_replaced)
def mark_all(sender, stock, **kwargs) -> None:
    listed = Establishment.objects.filter(stock=stock, siret=OuterRef("siret"))
    partial_unit = LegalUnit.objects.filter(
        stock=stock, siren=Substr(OuterRef("siret"), 1, 9), diffusion=Diffusion.PARTIAL
    )
    Structure.objects.update(
        sirene_state=Case(
            When(Exists(listed.filter(state=Establishment.State.CLOSED)), then=Value(SireneState.CLOSED)),
            When(Exists(listed), then=Value(SireneState.LISTED)),
            default=Value(SireneState.UNLISTED),
        ),
        sirene_stock_date=Value(stock.stock_date),
        address_restricted=Case(
            When(Exists(listed.filter(diffusion=Diffusion.PARTIAL)) | Exists(partial_unit), then=Value(True)),
            When(Exists(listed), then=Value(False)),
            default=F("address_restricted"),
        ),
    )
