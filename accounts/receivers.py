from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver


@receiver(user_logged_out)
def end_every_session(sender, request, user, **kwargs):
    """Signing out, on the site or in the admin, signs the user out on every device."""
    if user is not None:
        user.end_sessions()
