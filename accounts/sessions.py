"""Django's database sessions (SESSION_ENGINE), with fewer writes when signing in.

Signing in changes the session's key twice (after the password, after the second factor) to defeat
fixation. Django writes the new key's row at once, then rewrites it when the response leaves with what
was added meanwhile: here the old row is deleted at once, as before, and the new key is drawn and its
row written once, at the next save, as `flush()` already does for an emptied session. A step that saves
the session within its own transaction (accounts.views.save_session) is not written again by the response
unless the session changed since.
"""

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    _written = None  # what this request last wrote, serialised

    def cycle_key(self):
        """A new key for the same data: the old key's row goes now, the new one is created by the next save."""
        data, old_key = self._session, self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True
        if old_key:
            self.delete(old_key)

    def save(self, must_create=False):
        content = self.serializer().dumps(self._get_session(no_load=must_create))
        if not must_create and self.session_key is not None and content == self._written:
            return  # written already by this request, as it is
        super().save(must_create=must_create)
        self._written = content

    def _get_new_session_key(self):
        """A random key, not looked up first: its row is inserted, and `create()` draws again if it was taken."""
        return get_random_string(32, VALID_KEY_CHARS)

    def delete(self, session_key=None):
        """One DELETE, without reading the row first."""
        session_key = session_key or self.session_key
        if session_key is not None:
            self.model.objects.filter(session_key=session_key).delete()
