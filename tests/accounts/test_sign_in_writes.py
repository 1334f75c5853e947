"""Signing in and activating write little around the hash: a budget of queries, the session's row written once.

The hashing steps are measured against one Argon2 hash by `make bench`; these tests keep the work around it from
growing back (P3) without timing anything, and check that what was trimmed still holds: a new session key at each
step, the old row gone, the lockout counted.
"""

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.sessions import SessionStore
from tests.factories import PASSWORD, ApprovalRequestFactory, MembershipFactory, StructureFactory, UserFactory
from tests.signing_in import current_code
from twofactor.devices import default_device, email_device

LOGIN = reverse("accounts:login")
STRONG = "Tracteur-Bleu-Colza-2031"


def writes_to_sessions(queries) -> list[str]:
    return [q["sql"].split()[0] for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]


def test_the_password_step_keeps_to_its_query_budget(client, member, django_assert_max_num_queries):
    """The lockout counts (1), the account (1), `last_login` and the audit row (2), the device and its code (2), the
    code's mail (1), the session's row (1, within a savepoint: 2 more), and the savepoint that stands here for the
    step's transaction (2: the test runs in a transaction of its own)."""
    email_device(member)
    with django_assert_max_num_queries(12):
        response = client.post(LOGIN, {"username": member.email, "password": PASSWORD})
    assert response.status_code == 302 and response.url.startswith(reverse("twofactor:verify"))


def test_each_step_of_sign_in_writes_a_new_session_row_once_and_deletes_the_old_one(client, member):
    client.get(LOGIN)
    session = client.session
    session["chosen_before_sign_in"] = "kept"
    session.save()
    anonymous_key = session.session_key

    with CaptureQueriesContext(connection) as password_step:
        response = client.post(LOGIN, {"username": member.email, "password": PASSWORD})
    half_key = client.cookies["sessionid"].value
    with CaptureQueriesContext(connection) as code_step:
        client.post(response.url, {"code": current_code(default_device(member))})
    full_key = client.cookies["sessionid"].value

    assert len({anonymous_key, half_key, full_key}) == 3
    assert list(Session.objects.values_list("session_key", flat=True)) == [full_key]
    assert SessionStore(session_key=full_key).get(SESSION_KEY) == str(member.pk)
    assert SessionStore(session_key=full_key)["chosen_before_sign_in"] == "kept"
    assert writes_to_sessions(password_step.captured_queries) == ["DELETE", "INSERT"]
    assert writes_to_sessions(code_step.captured_queries) == ["DELETE", "INSERT"]


def test_a_session_saved_twice_unchanged_is_written_once_and_again_once_changed(db):
    session = SessionStore()
    session["step"] = 1
    session.save()
    with CaptureQueriesContext(connection) as unchanged:
        session.save()
    session["step"] = 2
    with CaptureQueriesContext(connection) as changed:
        session.save()

    assert writes_to_sessions(unchanged.captured_queries) == []
    assert writes_to_sessions(changed.captured_queries) == ["UPDATE"]
    assert SessionStore(session_key=session.session_key)["step"] == 2


def test_activation_signs_in_with_a_new_session_row(client, signup_data, outbox):
    client.post(reverse("accounts:signup"), signup_data())
    link = next(m for m in outbox() if "Activez" in m.subject).body.split("http://127.0.0.1:8000")[1].split()[0]
    form = client.get(link).url
    before = client.cookies["sessionid"].value

    response = client.post(form, {"new_password1": STRONG, "new_password2": STRONG})

    assert response.status_code == 302 and response.url == reverse("home")
    after = client.cookies["sessionid"].value
    assert after != before and list(Session.objects.values_list("session_key", flat=True)) == [after]
    assert client.get(reverse("accounts:profile")).status_code == 200


def test_the_device_asked_first_is_read_in_one_query_for_the_mailed_code(member, django_assert_num_queries):
    device = email_device(member)
    with django_assert_num_queries(1):
        assert default_device(member) == device


@pytest.mark.parametrize("attached_by", ["membership", "request"])
def test_the_siret_of_a_structure_or_a_request_is_refused_in_a_password(db, attached_by):
    user, structure = UserFactory(), StructureFactory()
    if attached_by == "membership":
        MembershipFactory(user=user, structure=structure)
    else:
        ApprovalRequestFactory(requester=user, structure=structure)

    with pytest.raises(ValidationError) as refused:
        validate_password(f"Ferme-{structure.siret[:9]}-Colza!", user)
    assert "password_personal_data" in [error.code for error in refused.value.error_list]
    validate_password(STRONG, user)
