"""Who instructs the refund requests, and where: the tax office's « cellule remboursement ».

An instructor is a staff member in the « Instructeurs » group (instruction/migrations/0002) with one or more
départements (`Instructor`, `InstructorDepartement`), which superusers set in the admin. They see and decide the
requests of those départements only (`instruction.access`).
"""

from django.conf import settings
from django.db import models

from structures import departements

GROUP = "Instructeurs"


class Instructor(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="instructor",
        verbose_name="compte",
        limit_choices_to={"is_staff": True},
    )

    class Meta:
        verbose_name = "instructeur"
        verbose_name_plural = "instructeurs"
        ordering = ["user__last_name", "user__first_name"]

    def __str__(self) -> str:
        return f"{self.user.get_full_name()} ({self.user.email})"


class InstructorDepartement(models.Model):
    instructor = models.ForeignKey(Instructor, on_delete=models.CASCADE, related_name="departements")
    code = models.CharField("département", max_length=3, choices=departements.CHOICES)

    class Meta:
        verbose_name = "département instruit"
        verbose_name_plural = "départements instruits"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["instructor", "code"], name="instructor_departement_once"),
        ]

    def __str__(self) -> str:
        return departements.label(self.code)
