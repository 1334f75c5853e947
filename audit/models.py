"""The audit trail: who did what, when, from which address. Rows are written once and never changed."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Action(models.TextChoices):
    SIGN_IN = "sign_in", "Connexion : mot de passe vérifié"  # the second factor follows (SECOND_FACTOR_*)
    SIGN_IN_FAILED = "sign_in_failed", "Échec de connexion"
    LOCKED_OUT = "locked_out", "Blocage après échecs de connexion"
    LOCKOUT_LIFTED = "lockout_lifted", "Connexion débloquée par l'équipe"
    SIGN_OUT = "sign_out", "Déconnexion (toutes les sessions)"
    ACTIVATED = "activated", "Compte activé"
    PASSWORD_CHANGED = "password_changed", "Mot de passe changé"
    PASSWORD_RESET = "password_reset", "Mot de passe réinitialisé"
    DEACTIVATED = "deactivated", "Compte désactivé"
    ACCOUNT_CHANGED = "account_changed", "Compte modifié"
    PASSWORD_SET_BY_STAFF = "password_set_by_staff", "Mot de passe défini par l'équipe"
    ADDRESS_CHANGE_REQUESTED = "address_change_requested", "Changement d'adresse demandé"
    ADDRESS_CHANGED = "address_changed", "Changement d'adresse confirmé"
    REQUEST_FILED = "request_filed", "Demande de rattachement déposée"
    REQUEST_APPROVED = "request_approved", "Demande de rattachement approuvée"
    REQUEST_REFUSED = "request_refused", "Demande de rattachement refusée"
    REQUEST_WITHDRAWN = "request_withdrawn", "Demande de rattachement retirée"
    STRUCTURE_CREATED = "structure_created", "Structure créée"
    STRUCTURE_CHANGED = "structure_changed", "Structure modifiée"
    STRUCTURE_DELETED = "structure_deleted", "Structure supprimée"
    # A membership (« rattachement ») created, its role changed, ended; the stored values are older than the names.
    MEMBERSHIP_CREATED = "role_granted", "Rattachement à une structure"
    ROLE_CHANGED = "role_changed", "Rôle changé"
    MEMBERSHIP_ENDED = "role_ended", "Fin de rattachement"
    BANK_CREATED = "bank_created", "Coordonnée bancaire créée"
    BANK_CHANGED = "bank_changed", "Coordonnée bancaire modifiée"
    BANK_DELETED = "bank_deleted", "Coordonnée bancaire supprimée"
    SECOND_FACTOR_PASSED = "second_factor_passed", "Double authentification réussie"
    SECOND_FACTOR_FAILED = "second_factor_failed", "Échec de la double authentification"
    SECOND_FACTOR_RESET = "second_factor_reset", "Double authentification réinitialisée par l'équipe"
    DEVICE_ADDED = "device_added", "Appareil de double authentification ajouté"
    DEVICE_CHANGED = "device_changed", "Appareil de double authentification modifié"
    DEVICE_REMOVED = "device_removed", "Appareil de double authentification supprimé"
    RECOVERY_CODES_ISSUED = "recovery_codes_issued", "Codes de secours générés"
    TRUSTED_DEVICES_FORGOTTEN = "trusted_forgotten", "Appareils de confiance oubliés"
    REFUND_FILED = "refund_filed", "Demande de remboursement déposée"
    REFUND_DRAFT_DELETED = "refund_draft_deleted", "Brouillon de demande de remboursement supprimé"
    REFUND_TAKEN = "refund_taken", "Demande de remboursement prise en charge"
    REFUND_INFORMATION_REQUESTED = "refund_information_requested", "Complément demandé sur une demande de remboursement"
    REFUND_ACCEPTED = "refund_accepted", "Demande de remboursement acceptée"
    REFUND_REJECTED = "refund_rejected", "Demande de remboursement rejetée"
    PAYMENT_BATCH_CREATED = "payment_batch_created", "Lot de virements mis en paiement"
    PAYMENT_BATCH_PAID = "payment_batch_paid", "Lot de virements marqué comme payé"


class ImmutableEvent(Exception):
    """An audit row was about to be changed or deleted."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableEvent("Le journal d'audit ne se modifie pas.")

    def delete(self):
        raise ImmutableEvent("Le journal d'audit ne se supprime pas.")


class AuditEvent(models.Model):
    at = models.DateTimeField("date", default=timezone.now, db_index=True)
    action = models.CharField("action", max_length=32, choices=Action.choices)
    # No database constraint and nothing done on delete: a row keeps the ids it
    # was written with after the user or structure is gone (deleting them must
    # not rewrite the trail), and its labels keep it readable.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField("auteur (adresse)", max_length=254, blank=True)
    ip = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    structure = models.ForeignKey(
        "structures.Structure",
        verbose_name="structure",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    structure_label = models.CharField("structure (SIRET)", max_length=300, blank=True)
    target = models.CharField("objet", max_length=300, blank=True)
    details = models.JSONField("détails", default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "événement d'audit"
        verbose_name_plural = "journal d'audit"
        ordering = ["-at", "-pk"]
        base_manager_name = "objects"  # Django's internal queries refuse updates too
        indexes = [
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
            models.Index(fields=["structure", "-at"], name="audit_structure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} – {self.actor_label or 'anonyme'}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableEvent("Le journal d'audit ne se modifie pas.")
        # An insert, always: a row built with the id of an existing one must not overwrite it.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableEvent("Le journal d'audit ne se supprime pas.")
