"""Migration operations the portal's apps share."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexWithoutBlocking(AddIndexConcurrently):
    """An index built while the table stays writable.

    On PostgreSQL it is `CREATE INDEX CONCURRENTLY`: a plain `CREATE INDEX` on a table of a million
    refund requests holds back every filing and decision for the seconds the build takes. The
    migration that uses it says `atomic = False`, as PostgreSQL requires; that is checked on every
    database, so that a migration which forgets it fails here, not on the day it is deployed.
    Elsewhere (SQLite, the embedded default) it is a plain `CREATE INDEX`.

    A build that fails leaves the migration unrecorded and its index invalid: drop each index of the
    migration that exists, valid or not (`DROP INDEX CONCURRENTLY IF EXISTS …`), then migrate again.
    """

    def describe(self):
        return f"Create index {self.index.name} on {self.model_name}, without blocking writes on PostgreSQL"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._build(schema_editor).database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._build(schema_editor).database_backwards(self, app_label, schema_editor, from_state, to_state)

    def _build(self, schema_editor) -> type[AddIndex]:
        """PostgreSQL's concurrent build, which checks itself that no transaction is open; elsewhere a plain one,
        checked the same way."""
        if schema_editor.connection.vendor == "postgresql":
            return AddIndexConcurrently
        self._ensure_not_in_transaction(schema_editor)
        return AddIndex
