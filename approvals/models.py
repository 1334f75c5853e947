from django.conf import settings
from django.db import models
from django.db.models import Q

from structures.models import Structure


class ApprovalRequestQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(state=ApprovalRequest.State.REQUESTED)


class ApprovalRequest(models.Model):
    """A request that a structure's main manager approves or refuses."""

    class Kind(models.TextChoices):
        ATTACHMENT = "attachment", "Demande de rattachement"

    class State(models.TextChoices):
        REQUESTED = "requested", "Demandé"
        APPROVED = "approved", "Approuvé"
        REFUSED = "refused", "Refusé"
        WITHDRAWN = "withdrawn", "Retiré"

    kind = models.CharField("type", max_length=20, choices=Kind, default=Kind.ATTACHMENT)
    state = models.CharField("état", max_length=20, choices=State, default=State.REQUESTED)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="approval_requests", verbose_name="demandeur"
    )
    structure = models.ForeignKey(
        Structure, on_delete=models.CASCADE, related_name="approval_requests", verbose_name="structure"
    )
    comment = models.TextField("commentaire du demandeur", max_length=2000, blank=True)
    created_at = models.DateTimeField("créé", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="approbateur",
    )
    decided_at = models.DateTimeField("décidé le", null=True, blank=True)
    reason = models.TextField("motif", max_length=2000, blank=True)

    objects = ApprovalRequestQuerySet.as_manager()

    class Meta:
        verbose_name = "approbation"
        verbose_name_plural = "approbations"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "structure"],
                condition=Q(state="requested"),
                name="approval_one_live_request",
            ),
        ]
        indexes = [
            models.Index(fields=["structure", "state", "-created_at"], name="approval_structure_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.requester} → {self.structure.siret}"
