from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Structure(models.Model):
    """A company or farm on the portal, identified by its SIRET."""

    class IdentifierType(models.TextChoices):
        SIRET = "siret", "SIRET"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    identifier_type = models.CharField(
        "type d'identifiant", max_length=10, choices=IdentifierType, default=IdentifierType.SIRET
    )
    siret = models.CharField("SIRET", max_length=14, unique=True)
    name = models.CharField("libellé de la structure", max_length=200, blank=True)
    status = models.CharField("statut", max_length=10, choices=Status, default=Status.ACTIVE)
    created_at = models.DateTimeField("créée le", auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "structure"
        verbose_name_plural = "structures"
        ordering = ["siret"]

    def __str__(self) -> str:
        return f"{self.siret} {self.name}".strip()

    @property
    def siren(self) -> str:
        return self.siret[:9]

    @property
    def display_name(self) -> str:
        return self.name or f"SIRET {self.siret}"


class Membership(models.Model):
    """A user attached to a structure, as its main manager or as a user."""

    class Role(models.TextChoices):
        MAIN_MANAGER = "main_manager", "Gestionnaire principal"
        USER = "user", "Utilisateur"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("rôle", max_length=20, choices=Role, default=Role.USER)
    created_at = models.DateTimeField("depuis le", auto_now_add=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = "rattachement"
        verbose_name_plural = "rattachements"
        constraints = [
            models.UniqueConstraint(fields=["user", "structure"], name="membership_user_structure_unique"),
            models.UniqueConstraint(
                fields=["structure"],
                condition=Q(role="main_manager"),
                name="membership_one_main_manager",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.structure} ({self.get_role_display()})"
