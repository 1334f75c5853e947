from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import make_password


class EmailBackend(ModelBackend):
    """ModelBackend whose failures all cost one password hash.

    Django already hashes for an unknown address; an account that was never
    activated has no usable password and would answer faster, telling an
    attacker that the address is registered.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None and password is not None and self._unusable_password(username):
            make_password(password)
        return user

    def _unusable_password(self, username) -> bool:
        from django.contrib.auth import get_user_model

        manager = get_user_model()._default_manager
        user = manager.filter(email=manager.normalize_email(username)).only("password").first()
        return user is not None and not user.has_usable_password()
