from django.contrib.auth.tokens import PasswordResetTokenGenerator


def _second(moment) -> str:
    """A time as the token hashes it: to the second, without its zone (as Django's own token does)."""
    return "" if moment is None else str(moment.replace(microsecond=0, tzinfo=None))


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """Activation links: 60 minutes (PASSWORD_RESET_TIMEOUT), one use, newest only.

    The hash covers the activation state, the password and the time the link
    was sent: activating, or sending a newer link, voids every older one. Its
    own salt keeps these tokens apart from password-reset ones.
    """

    key_salt = "accounts.tokens.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        sent_at = _second(user.activation_sent_at)
        return f"{user.pk}{user.password}{user.is_active}{user.activated_at is None}{sent_at}{timestamp}"


class ResetTokenGenerator(PasswordResetTokenGenerator):
    """Password-reset links: 60 minutes, one use (Django's hash covers the password), newest only.

    The time the link was sent (`User.password_reset_sent_at`) is hashed too: asking
    for a new link voids every older one, as for activation links.
    """

    def _make_hash_value(self, user, timestamp):
        return f"{super()._make_hash_value(user, timestamp)}{_second(user.password_reset_sent_at)}"


activation_token = ActivationTokenGenerator()
reset_token = ResetTokenGenerator()
