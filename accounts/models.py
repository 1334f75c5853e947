from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core import signing
from django.db import models
from django.db.models import Exists, F, OuterRef
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac


class UserQuerySet(models.QuerySet):
    def awaiting_activation(self):
        """Signed up, never activated (deactivated accounts were activated once)."""
        return self.filter(is_active=False, activated_at__isnull=True)

    def activated(self):
        """Activated once, deactivated since or not: the rows whose `has_activated` is true."""
        return self.filter(activated_at__isnull=False)


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # The login address is unique whatever its case: stored lower-cased.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username):
        return self.get(email=self.normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **fields) -> "User":
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)  # None gives an unusable password until activation
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True, is_active=True, activated_at=timezone.now())
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person signed up on the portal, identified by their login address."""

    email = models.EmailField("adresse électronique de connexion", max_length=254, unique=True)
    first_name = models.CharField("prénom", max_length=150)
    last_name = models.CharField("nom", max_length=150)
    phone = models.CharField("téléphone", max_length=20, blank=True)
    contact_email = models.EmailField("e-mail du contact", max_length=254, blank=True)
    survey_consent = models.BooleanField("accepte les enquêtes de satisfaction", default=False)
    terms_accepted_at = models.DateTimeField("conditions acceptées le", null=True, blank=True)
    terms_version = models.CharField("version des conditions", max_length=20, blank=True)

    is_active = models.BooleanField("actif", default=False)
    is_staff = models.BooleanField("équipe", default=False)
    date_joined = models.DateTimeField("inscrit le", default=timezone.now)
    activated_at = models.DateTimeField("activé le", null=True, blank=True)
    # A newer activation link voids the older ones: the token hashes this value.
    activation_sent_at = models.DateTimeField("lien d'activation envoyé le", null=True, blank=True)
    # Likewise for password-reset links: only the newest one works.
    password_reset_sent_at = models.DateTimeField(
        "lien de réinitialisation envoyé le", null=True, blank=True, editable=False
    )
    # The SIRET typed at sign-up: the structure is created, or its attachment
    # requested, at activation, so that nothing before it depends on whether
    # the login address was already taken.
    signup_siret = models.CharField("SIRET saisi à l'inscription", max_length=14, blank=True, editable=False)
    # The word for the manager typed at sign-up, should the SIRET's structure exist by activation:
    # the attachment request carries it, then it is cleared.
    signup_comment = models.TextField("commentaire saisi à l'inscription", blank=True, editable=False)
    # Sessions carry a hash of the password and of this counter: raising it
    # ends every session of the user, on every device (sign-out, deactivation).
    session_generation = models.PositiveIntegerField("génération de sessions", default=0, editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"
        ordering = ["email"]
        constraints = [
            # Addresses are stored lower-cased; this guards rows written any other way.
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email)

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = self.savable_fields()
        super().save(*args, **kwargs)

    def savable_fields(self) -> list[str]:
        """What a full save of a loaded user writes: every field loaded but the session generation.

        A full save of a user loaded before `end_sessions()` must not write the
        old generation back, which would bring the ended sessions back to life.
        """
        deferred = self.get_deferred_fields()
        return [
            field.attname
            for field in self._meta.concrete_fields
            if not field.primary_key and field.name != "session_generation" and field.attname not in deferred
        ]

    def get_session_auth_hash(self) -> str:
        return self._session_hash(secret=None)

    def get_session_auth_fallback_hash(self):
        for secret in settings.SECRET_KEY_FALLBACKS:
            yield self._session_hash(secret=secret)

    def _session_hash(self, secret) -> str:
        key_salt = "accounts.models.User.get_session_auth_hash"
        value = f"{self.password}:{self.session_generation}"
        return salted_hmac(key_salt, value, secret=secret, algorithm="sha256").hexdigest()

    def end_sessions(self) -> None:
        """Signs the user out everywhere: no session made before this call loads them any more."""
        type(self).objects.filter(pk=self.pk).update(session_generation=F("session_generation") + 1)
        self.refresh_from_db(fields=["session_generation"])

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name

    @property
    def notification_email(self) -> str:
        """Where the portal's notices go: the contact address, else the login one."""
        return self.contact_email or self.email

    @property
    def has_activated(self) -> bool:
        return self.activated_at is not None


class AddressChangeQuerySet(models.QuerySet):
    def confirmable(self):
        """Not confirmed yet, younger than its link, and the newest of its user and kind (a newer request voids
        the older links)."""
        newer = AddressChange.objects.filter(user=OuterRef("user"), kind=OuterRef("kind"), pk__gt=OuterRef("pk"))
        since = timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
        return self.filter(confirmed_at__isnull=True, requested_at__gt=since).exclude(Exists(newer))

    def from_token(self, token: str) -> "AddressChange | None":
        """The change a mailed link names, if its signature holds and it is younger than the link's lifetime."""
        try:
            pk = signing.loads(token, salt=AddressChange.TOKEN_SALT, max_age=settings.PASSWORD_RESET_TIMEOUT)
        except signing.BadSignature:  # expired ones included
            return None
        return self.filter(pk=pk).first() if isinstance(pk, int) else None


class AddressChange(models.Model):
    """A new login or contact address, in force once its owner opens the link mailed to it.

    These two addresses decide who may sign in and where bank and role warnings go:
    neither changes on a session alone or on staff's word, and the old address is
    told at once.
    """

    class Kind(models.TextChoices):
        LOGIN = "login", "adresse électronique de connexion"
        CONTACT = "contact", "e-mail du contact"

    # Links are signed with their own salt, kept apart from activation and reset tokens.
    TOKEN_SALT = "accounts.AddressChange"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="address_changes", verbose_name="compte"
    )
    kind = models.CharField("adresse", max_length=10, choices=Kind)
    # Empty: the contact address removed, notices going back to the login address.
    new_address = models.EmailField("nouvelle adresse", max_length=254, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="demandé par",
    )
    requested_at = models.DateTimeField("demandé le", default=timezone.now)
    confirmed_at = models.DateTimeField("confirmé le", null=True, blank=True)

    objects = AddressChangeQuerySet.as_manager()

    class Meta:
        verbose_name = "changement d'adresse"
        verbose_name_plural = "changements d'adresse"
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} de {self.user} : {self.new_address or 'retirée'}"

    @property
    def field_name(self) -> str:
        return "email" if self.kind == self.Kind.LOGIN else "contact_email"

    @property
    def confirming_address(self) -> str:
        """Where the link goes: the new address; for a contact address removed, the login one, where notices will go."""
        return self.new_address or self.user.email

    def make_token(self) -> str:
        return signing.dumps(self.pk, salt=self.TOKEN_SALT)
