"""A farm's request under races, on PostgreSQL: one request a year, one sending, one number."""

from datetime import date

import pytest
import time_machine
from post_office.models import Email

from refunds import workflows
from refunds.models import RefundEvent, RefundRequest
from tests.accounts.test_races import run_together
from tests.factories import RefundLineFactory

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgresql_only")]


def test_ten_starts_of_one_year_at_once_make_one_request(farm, farmer, farm_user):
    results = run_together(
        *[lambda user=(farmer if n % 2 else farm_user): workflows.start(farm, 2023, by=user) for n in range(10)]
    )

    assert not [result for result in results if isinstance(result, Exception)], results
    assert RefundRequest.objects.filter(structure=farm, year=2023).count() == 1
    assert {request.pk for request, _ in results} == {RefundRequest.objects.get().pk}
    assert sum(created for _, created in results) == 1
    assert RefundEvent.objects.filter(kind=RefundEvent.Kind.CREATED).count() == 1


@time_machine.travel(date(2026, 12, 7), tick=True)
def test_two_members_sending_one_draft_at_once_send_it_once(draft, farmer, farm_user):
    RefundLineFactory(request=draft)
    draft.not_in_difficulty = True
    draft.save()

    def send(user):
        try:
            return workflows.send(draft.pk, by=user)
        except workflows.AlreadySent:
            return "already sent"

    results = run_together(lambda: send(farmer), lambda: send(farm_user))

    assert sorted(map(str, results)) == sorted([f"TIC-2023-{draft.pk:06d}", "already sent"]), results
    assert RefundEvent.objects.filter(request=draft, kind=RefundEvent.Kind.FILED).count() == 1
    draft.refresh_from_db()
    # The filer hears of it, and so does the main manager when the simple user filed.
    assert Email.objects.filter(subject__contains=draft.number).count() == (1 if draft.filed_by == farmer else 2)


@time_machine.travel(date(2026, 12, 7), tick=True)
def test_a_line_added_while_the_request_is_sent_is_either_in_it_or_refused(draft, farmer, farm_user):
    RefundLineFactory(request=draft)
    draft.not_in_difficulty = True
    draft.save()
    data = workflows.LineData("F-LATE", date(2023, 6, 1), "Coopérative", draft.lines.get().product, 10)

    def add():
        try:
            return workflows.add_line(draft.pk, data, by=farm_user)
        except workflows.NotEditable:
            return "refused"

    results = run_together(lambda: workflows.send(draft.pk, by=farmer), add)

    draft.refresh_from_db()
    lines = draft.lines.count()
    # Added first: it is in the request sent, and in its total; added after: refused, the request unchanged.
    assert (results[1] == "refused" and lines == 1) or (results[1] != "refused" and lines == 2), results
    assert draft.total_asked == sum(line.amount for line in draft.lines.all())
