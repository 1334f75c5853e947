"""INSEE's SIRENE directory, as imported from its monthly open-data stock files.

Each import is a `Stock`: its establishments and legal units carry its id, so that a new import loads beside
the one in service and replaces it in one short transaction (`importer.load`). Readers always join through
the stock in service (`Stock.State.CURRENT`), in one query, so a reader never mixes two imports.

The rows keep only the columns the portal reads (names, address, state, diffusion status), as INSEE writes them.
"""

from django.db import models
from django.db.models import Q


class Diffusion(models.TextChoices):
    """`statutDiffusion…`: « O » public; « P » partly public, the person asked that their address be withheld.

    INSEE's files written before 2023 also carry « N » (not public), read as « P »."""

    PUBLIC = "O", "Diffusible"
    PARTIAL = "P", "Partiellement diffusible"


class Stock(models.Model):
    """One import of the two stock files: when INSEE wrote them, how loading went, how many rows it kept."""

    class State(models.TextChoices):
        LOADING = "loading", "En cours de chargement"
        CURRENT = "current", "En service"
        REPLACED = "replaced", "Remplacé"
        FAILED = "failed", "Échoué"

    stock_date = models.DateField("date du stock")
    state = models.CharField("état", max_length=10, choices=State, default=State.LOADING)
    establishments_file = models.CharField("fichier des établissements", max_length=255)
    legal_units_file = models.CharField("fichier des unités légales", max_length=255)
    establishments = models.PositiveBigIntegerField("établissements chargés", default=0)
    legal_units = models.PositiveBigIntegerField("unités légales chargées", default=0)
    malformed = models.PositiveBigIntegerField("lignes écartées", default=0)
    report = models.TextField("compte rendu", blank=True)
    # Once replaced or failed, its rows are deleted (`importer._delete_replaced`); the stock stays, as a record.
    rows_deleted = models.BooleanField("lignes supprimées", default=False)
    started_at = models.DateTimeField("commencé le", auto_now_add=True)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)

    class Meta:
        verbose_name = "import du répertoire SIRENE"
        verbose_name_plural = "imports du répertoire SIRENE"
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=Q(state="current"), name="sirene_one_current_stock")
        ]

    def __str__(self) -> str:
        return f"Stock SIRENE du {self.stock_date:%d/%m/%Y} ({self.get_state_display().lower()})"


class Establishment(models.Model):
    """A row of `StockEtablissement`: one establishment, by its SIRET."""

    class State(models.TextChoices):
        ACTIVE = "A", "Actif"
        CLOSED = "F", "Fermé"

    # No index on the stock: rows are read by SIRET, and a replaced stock's rows are deleted all at once. No
    # database constraint either: PostgreSQL would check it for each of millions of rows at the load's commit, and
    # the importer writes the stock first and never deletes one (nor does the admin).
    stock = models.ForeignKey(Stock, on_delete=models.DO_NOTHING, db_index=False, db_constraint=False, related_name="+")
    siret = models.CharField("SIRET", max_length=14)
    diffusion = models.CharField("statut de diffusion", max_length=1, choices=Diffusion)
    state = models.CharField("état administratif", max_length=1, choices=State)
    head_office = models.BooleanField("siège")
    sign = models.CharField("enseigne", max_length=100, blank=True)
    usual_name = models.CharField("dénomination usuelle", max_length=200, blank=True)
    address_complement = models.CharField("complément d'adresse", max_length=100, blank=True)
    street_number = models.CharField("numéro de voie", max_length=10, blank=True)
    repetition_index = models.CharField("indice de répétition", max_length=10, blank=True)
    street_type = models.CharField("type de voie", max_length=10, blank=True)
    street_name = models.CharField("libellé de voie", max_length=200, blank=True)
    postal_code = models.CharField("code postal", max_length=10, blank=True)
    city = models.CharField("commune", max_length=100, blank=True)
    activity = models.CharField("activité principale", max_length=10, blank=True)

    class Meta:
        verbose_name = "établissement"
        verbose_name_plural = "établissements"
        indexes = [models.Index(fields=["siret"], name="sirene_establishment_siret")]

    def __str__(self) -> str:
        return self.siret


class LegalUnit(models.Model):
    """A row of `StockUniteLegale`: the company or the sole trader behind the establishments of one SIREN."""

    class State(models.TextChoices):
        ACTIVE = "A", "Active"
        CEASED = "C", "Cessée"

    stock = models.ForeignKey(Stock, on_delete=models.DO_NOTHING, db_index=False, db_constraint=False, related_name="+")
    siren = models.CharField("SIREN", max_length=9)
    diffusion = models.CharField("statut de diffusion", max_length=1, choices=Diffusion)
    state = models.CharField("état administratif", max_length=1, choices=State)
    denomination = models.CharField("dénomination", max_length=200, blank=True)
    last_name = models.CharField("nom", max_length=100, blank=True)
    usage_name = models.CharField("nom d'usage", max_length=100, blank=True)
    first_name = models.CharField("premier prénom", max_length=100, blank=True)
    usual_first_name = models.CharField("prénom usuel", max_length=100, blank=True)
    legal_category = models.CharField("catégorie juridique", max_length=4, blank=True)

    class Meta:
        verbose_name = "unité légale"
        verbose_name_plural = "unités légales"
        indexes = [models.Index(fields=["siren"], name="sirene_legal_unit_siren")]

    def __str__(self) -> str:
        return self.siren
