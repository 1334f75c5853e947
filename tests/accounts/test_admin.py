import pytest
from django.urls import reverse

from structures.models import Membership
from tests.factories import MembershipFactory, PendingUserFactory, UserFactory


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, email="support@exemple.fr"))
    return client


def test_support_finds_a_user_by_siret_or_name(admin_client):
    farmer = UserFactory(email="ferme@exemple.fr", last_name="Rousseau")
    membership = MembershipFactory(user=farmer, role=Membership.Role.MAIN_MANAGER)
    UserFactory(email="autre@exemple.fr", last_name="Autre")
    changelist = reverse("admin:accounts_user_changelist")

    by_siret = admin_client.get(changelist, {"q": membership.structure.siret}).content.decode()
    by_name = admin_client.get(changelist, {"q": "rousseau"}).content.decode()

    assert "ferme@exemple.fr" in by_siret and "autre@exemple.fr" not in by_siret
    assert "ferme@exemple.fr" in by_name


def test_support_resends_the_activation_link_and_sees_the_mail_status(admin_client, outbox):
    pending = PendingUserFactory(email="attente@exemple.fr")
    UserFactory(email="deja@exemple.fr")

    response = admin_client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "resend_activation_link", "_selected_action": [pending.pk]},
        follow=True,
    )

    assert "1 lien(s) d&#x27;activation envoyé(s)" in response.content.decode()
    assert [m.to for m in outbox()] == [["attente@exemple.fr"]]
    detail = admin_client.get(reverse("admin:accounts_user_change", args=[pending.pk])).content.decode()
    assert "Activez votre compte Chorus Pro TIC/TICGN : <strong>envoyé</strong>" in detail


def test_the_activation_filter_lists_accounts_never_activated(admin_client):
    PendingUserFactory(email="attente@exemple.fr")
    UserFactory(email="actif@exemple.fr")

    page = admin_client.get(reverse("admin:accounts_user_changelist"), {"activation": "pending"}).content.decode()

    assert "attente@exemple.fr" in page and "actif@exemple.fr" not in page
