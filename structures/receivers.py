"""Each new SIRENE stock marks every structure again: listed, closed or absent, and whether its address is
partly public. Once the stock is in service, by ranges of ids, each one statement and its own transaction: an
edit of a structure waits on a batch's row locks for a fraction of a second, never on the whole marking (about
10 s for 400,000 structures against a million establishments on PostgreSQL). Until its batch is marked, a
structure keeps the previous stock's marks."""

from django.db import transaction
from django.db.models import Case, Exists, F, Max, Min, OuterRef, Value, When
from django.db.models.functions import Substr
from django.dispatch import receiver

from sirene.models import Diffusion, Establishment, LegalUnit
from sirene.signals import stock_replaced
from structures.models import SireneState, Structure

BATCH = 10_000


@receiver(stock_replaced)
def mark_all(sender, stock, **kwargs) -> None:
    bounds = Structure.objects.aggregate(first=Min("pk"), last=Max("pk"))
    if bounds["first"] is None:
        return
    for start in range(bounds["first"], bounds["last"] + 1, BATCH):
        with transaction.atomic():
            _mark(Structure.objects.filter(pk__gte=start, pk__lt=start + BATCH), stock)


def _mark(structures, stock) -> None:
    listed = Establishment.objects.filter(stock=stock, siret=OuterRef("siret"))
    partial_unit = LegalUnit.objects.filter(
        stock=stock, siren=Substr(OuterRef("siret"), 1, 9), diffusion=Diffusion.PARTIAL
    )
    structures.update(
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
