"""The second factor's own records; the devices are django-otp's (e-mail code, application) and
django-otp-webauthn's (security key, passkey), plus the recovery codes below.

The portal asks every account for a second factor after its password (PRODUCT §8). A new
account has the code by e-mail (`EmailDevice`, to the login address); the user adds an
authenticator application or a security key, which brings ten recovery codes.
"""

from django.conf import settings
from django.db import models
from django.utils.crypto import salted_hmac
from django_otp.models import Device


class SecondFactor(models.Model):
    """A user's choices: the device asked first, and the generation that trusted browsers carry.

    Raising `trust_generation` voids every « Faire confiance à cet appareil » cookie of the user
    (« Oublier tous les appareils », a support reset); changing the password voids them too,
    since the cookie also carries a digest of the password hash.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="second_factor", verbose_name="utilisateur"
    )
    default_device = models.CharField("appareil par défaut", max_length=64, blank=True)
    trust_generation = models.PositiveIntegerField("génération des appareils de confiance", default=0)

    class Meta:
        verbose_name = "double authentification"
        verbose_name_plural = "double authentification"

    def __str__(self) -> str:
        return str(self.user)


def recovery_code_digest(code: str) -> str:
    """What is stored of a recovery code: its keyed digest, never the code.

    The codes are random (50 bits), so a keyed SHA-256 is enough; `normalise` runs first so that
    « abcd-efgh-ij » and « ABCDEFGHIJ » are one code.
    """
    return salted_hmac("twofactor.recovery-code", normalise(code), algorithm="sha256").hexdigest()


def normalise(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


class RecoveryCodeDevice(Device):
    """Ten single-use recovery codes, given once when an application or a key is added.

    Only their digests are kept (`RecoveryCode`); each matches once.
    """

    class Meta(Device.Meta):
        verbose_name = "codes de secours"
        verbose_name_plural = "codes de secours"

    def verify_token(self, token) -> bool:
        digest = recovery_code_digest(str(token))
        # One DELETE: of two submissions of one code, only one deletes a row.
        deleted, _ = self.codes.filter(digest=digest).delete()
        return deleted > 0


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)

    class Meta:
        verbose_name = "code de secours"
        verbose_name_plural = "codes de secours"
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return "code de secours"  # never the code, which is not kept
