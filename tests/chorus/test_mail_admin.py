"""The mail admin shows who was sent what and whether it left, never a live link."""

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse
from post_office.models import Email

from tests.factories import PASSWORD


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S")


def test_staff_never_read_a_reset_link_nor_redirect_it(member, superuser):
    Client().post(reverse("accounts:password_reset"), {"email": member.email})
    mail = Email.objects.get(to__icontains=member.email)
    assert "/mot-de-passe-oublie/" in mail.message  # the link is in the stored mail...
    staff = Client()
    staff.force_login(superuser)
    change = reverse("admin:post_office_email_change", args=[mail.pk])

    page = staff.get(change).text
    staff.post(change, {"to": "pirate@evil.example", "status": "0", "priority": "1"})

    assert member.email in page and mail.subject in page
    assert "/mot-de-passe-oublie/" not in page  # ...and not on the page
    mail.refresh_from_db()
    assert mail.to == [member.email]
    for name in ["admin:post_office_email_preview", "admin:post_office_email_image"]:
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[mail.pk])
