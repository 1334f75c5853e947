"""Whatever is typed into the two forms of steps 1–2: a page with named errors, never a 500."""

from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from structures.models import Structure

SIGNUP_FIELDS = [
    "email",
    "email_confirmation",
    "first_name",
    "last_name",
    "phone",
    "contact_email",
    "identifier_type",
    "identifier",
    "accept_terms",
    "captcha_0",
    "captcha_1",
]
typed = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=400)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.fixed_dictionaries({}, optional={field: typed for field in SIGNUP_FIELDS}))
def test_sign_up_never_fails_on_what_is_typed(client, db, values):
    users, structures = User.objects.count(), Structure.objects.count()

    response = client.post(reverse("accounts:signup"), values)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert (User.objects.count(), Structure.objects.count()) == (users, structures)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(uid=typed, token=typed)
def test_activation_links_never_fail_whatever_their_parts(client, db, uid, token):
    uid = uid.replace("/", "") or "x"
    token = token.replace("/", "") or "x"

    response = client.get(f"/compte/activer/{uid}/{token}/", follow=True)

    assert response.status_code in (200, 404)
