"""The queue and payment indexes: built without holding back filing on a live PostgreSQL table, and matching the
queries they serve."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Q

from refunds.models import RefundRequest


def sql_of(app_label, migration):
    out = StringIO()
    call_command("sqlmigrate", app_label, migration, stdout=out)
    return out.getvalue()


# sqlmigrate opens a schema editor, which neither database allows inside the test's transaction.
@pytest.mark.django_db(transaction=True)
def test_the_queue_indexes_are_built_concurrently_on_postgresql_and_plainly_elsewhere():
    sql = sql_of("refunds", "0007")
    creates = [line for line in sql.splitlines() if line.startswith("CREATE INDEX")]

    assert len(creates) == 5
    if connection.vendor == "postgresql":
        assert all(line.startswith("CREATE INDEX CONCURRENTLY") for line in creates)
        assert "BEGIN" not in sql  # CONCURRENTLY cannot run inside a transaction
    else:
        assert not any("CONCURRENTLY" in line for line in creates)


def test_the_queue_as_it_opens_has_an_index_of_its_own_statuses():
    # PostgreSQL uses a partial index only for a query whose filter implies its condition: if the statuses the queue
    # opens on changed alone, its first page would walk past every decided request of the département again.
    (index,) = [index for index in RefundRequest._meta.indexes if index.name == "refund_request_to_instruct"]

    assert index.condition == Q(status__in=[str(status) for status in RefundRequest.TO_INSTRUCT])
