"""What lists print in each row through the portal's quicker tags: the same dates and links as Django's own."""

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template
from django.urls import set_script_prefix


def rendered(source: str, **context) -> str:
    return Template("{% load ui %}" + source).render(Context(context))


@pytest.mark.parametrize(
    "moment",
    [datetime(2024, 3, 31, 22, 30, 5, tzinfo=UTC), datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), date(2023, 7, 14)],
)
def test_a_date_in_a_row_reads_as_django_prints_it_in_paris(moment):
    assert rendered("{{ x|day }}", x=moment) == rendered('{{ x|date:"d/m/Y" }}', x=moment)
    if isinstance(moment, datetime):
        assert rendered("{{ x|day_and_time }}", x=moment) == rendered('{{ x|date:"d/m/Y H:i:s" }}', x=moment)


def test_a_missing_date_prints_nothing():
    assert rendered("{{ x|day }}|{{ x|day_and_time }}", x=None) == "|"


def test_the_first_of_april_in_paris_is_still_the_31st_of_march_in_utc():
    assert rendered("{{ x|day }}", x=datetime(2024, 3, 31, 22, 30, tzinfo=UTC)) == "01/04/2024"


@pytest.mark.parametrize("prefix", ["/", "/portail/"])
def test_a_row_link_is_the_address_django_gives_under_any_prefix(prefix):
    set_script_prefix(prefix)
    try:
        for pk, line in [(7, 12), (123456, 1), (918273645, 918273646)]:
            assert rendered("{% row_url 'refunds:invoice_download' a b %}", a=pk, b=line) == rendered(
                "{% url 'refunds:invoice_download' a b %}", a=pk, b=line
            )
            assert rendered("{% row_url 'approvals:approval_detail' a %}", a=pk) == rendered(
                "{% url 'approvals:approval_detail' a %}", a=pk
            )
        assert rendered("{% row_url 'instruction:request_detail' 42 %}").startswith(prefix)
    finally:
        set_script_prefix("/")
