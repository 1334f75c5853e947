from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from structures.models import Membership, Structure


class ApprovalRequestQuerySet(models.QuerySet):
    def pending(self):
        return self.filter(state=ApprovalRequest.State.REQUESTED)

    def pending_filed_by(self, user):
        """The user's own requests still waiting for a decision."""
        return self.pending().filter(requester=user)

    def waiting_longer_than(self, days: int):
        """The pending requests filed more than `days` days ago: nobody has acted on them."""
        return self.pending().filter(created_at__lt=timezone.now() - timedelta(days=days))

    def decidable_by(self, user):
        """The requests of the structures the user manages: the only ones they see or decide.

        `approvals.summary` counts the pending ones another way, for the menu's badge and the list's pages: a rule
        changed here is changed there too."""
        return self.filter(structure__in=Structure.objects.managed_by(user))

    def with_delegation(self):
        """Flags requesters who belong to an agricultural management centre (`from_centre`)."""
        centres = Membership.objects.filter(user=OuterRef("requester"), structure__is_agricultural_centre=True)
        return self.annotate(from_centre=Exists(centres))


class ApprovalRequest(models.Model):
    """A request that a structure's managers approve or refuse, once."""

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
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["requester", "structure"],
                condition=Q(state="requested"),
                name="approval_one_live_request",
            ),
            models.CheckConstraint(
                condition=Q(state="requested") | Q(decided_at__isnull=False),
                name="approval_closed_has_date",
            ),
            models.CheckConstraint(condition=~Q(state="refused") | ~Q(reason=""), name="approval_refusal_has_reason"),
        ]
        indexes = [
            # Pending requests only: the queue (a manager's structures, newest first) and the menu's badge.
            models.Index(
                fields=["structure", "-created_at", "-id"],
                condition=Q(state="requested"),
                name="approval_pending_queue",
            ),
            # The admin's requests waiting for over 7 days, oldest first.
            models.Index(fields=["created_at", "id"], condition=Q(state="requested"), name="approval_pending_age"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} – {self.requester} → {self.structure.siret}"

    def get_absolute_url(self) -> str:
        return reverse("approvals:approval_detail", args=[self.pk])

    @property
    def is_pending(self) -> bool:
        return self.state == self.State.REQUESTED

    @property
    def is_approved(self) -> bool:
        return self.state == self.State.APPROVED

    @property
    def is_withdrawn(self) -> bool:
        return self.state == self.State.WITHDRAWN

    @property
    def waiting_for(self) -> str:
        """« il y a 3 jours »: how long the request has been waiting, in whole days."""
        days = (timezone.now() - self.created_at).days
        if days < 1:
            return "aujourd'hui"
        return f"il y a {days} jour{'s' if days > 1 else ''}"

    @property
    def description(self) -> str:
        """The queue's « Description » column."""
        return self.get_kind_display()

    def approve(self, by) -> None:
        self._close(self.State.APPROVED, by)

    def refuse(self, by, reason: str) -> None:
        if not reason.strip():
            raise ValueError("A refusal needs a reason.")
        self._close(self.State.REFUSED, by, reason)

    def withdraw(self) -> None:
        self._close(self.State.WITHDRAWN, self.requester)

    def _close(self, state: str, by, reason: str = "") -> None:
        self.state = state
        self.decided_by = by
        self.decided_at = timezone.now()
        self.reason = reason
        self.save(update_fields=["state", "decided_by", "decided_at", "reason"])
