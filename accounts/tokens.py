from django.contrib.auth.tokens import PasswordResetTokenGenerator


class ActivationTokenGenerator(PasswordResetTokenGenerator):
    """Activation links: 60 minutes (PASSWORD_RESET_TIMEOUT), one use, newest only.

    The hash covers the activation state, the password and the time the link
    was sent: activating, or sending a newer link, voids every older one. Its
    own salt keeps these tokens apart from password-reset ones.
    """

    key_salt = "accounts.tokens.ActivationTokenGenerator"

    def _make_hash_value(self, user, timestamp):
        sent_at = "" if user.activation_sent_at is None else user.activation_sent_at.replace(microsecond=0, tzinfo=None)
        return f"{user.pk}{user.password}{user.is_active}{user.activated_at is None}{sent_at}{timestamp}"


activation_token = ActivationTokenGenerator()
