"""« Commentaire pour le gestionnaire » at sign-up: kept until activation, then the attachment request's words."""

import re
from html import unescape

from django.urls import reverse

from accounts.models import User
from approvals.models import ApprovalRequest
from structures.models import Membership, Structure
from tests.factories import MembershipFactory

SIGNUP = reverse("accounts:signup")
RECAP = reverse("accounts:signup_done")
STRONG = "Tracteur-Bleu-Colza-2031"
COMMENT = "Comptable du centre de gestion du Bocage, mandaté par l'EARL."


def activate(client, outbox) -> None:
    """Opens the activation link of the newest mail and chooses a password."""
    mail = next(m for m in reversed(outbox()) if "Activez" in m.subject)
    path = re.search(r"http://127\.0\.0\.1:8000(/compte/activer/\S+/)", mail.body).group(1)
    form_url = client.get(path).url
    response = client.post(form_url, {"new_password1": STRONG, "new_password2": STRONG})
    assert response.status_code == 302


def test_the_form_offers_the_comment_without_saying_whether_the_structure_exists(client, db):
    page = unescape(client.get(SIGNUP).text)

    assert "Commentaire pour le gestionnaire" in page
    assert "seulement si elle est déjà inscrite sur le portail" in page
    assert 'maxlength="2000"' in page


def test_the_comment_waits_on_the_account_and_the_recap_shows_it(client, signup_data, outbox):
    client.post(SIGNUP, signup_data(comment=f"  {COMMENT}  "))

    user = User.objects.get(email="jeanne.martin@exemple.fr")
    assert user.signup_comment == COMMENT
    assert not ApprovalRequest.objects.exists()
    recap = unescape(client.get(RECAP).text)
    assert "Commentaire pour le gestionnaire" in recap and COMMENT in recap


def test_at_activation_the_request_carries_it_to_the_manager_and_the_account_forgets_it(
    client, signup_data, manager, farm, outbox
):
    client.post(SIGNUP, signup_data(identifier=farm.siret, comment=COMMENT))

    activate(client, outbox)

    user = User.objects.get(email="jeanne.martin@exemple.fr")
    approval_request = ApprovalRequest.objects.get(requester=user)
    assert approval_request.comment == COMMENT
    assert user.signup_comment == ""
    [to_manager] = [m for m in outbox() if m.to == [manager.email]]
    assert f"« {COMMENT} »" in to_manager.body
    assert "Message de Jeanne Martin" in to_manager.body
    client.force_login(manager)
    detail = unescape(client.get(approval_request.get_absolute_url()).text)
    assert COMMENT in detail


def test_a_structure_created_at_activation_ignores_the_comment(client, signup_data, outbox):
    client.post(SIGNUP, signup_data(comment=COMMENT))

    activate(client, outbox)

    user = User.objects.get(email="jeanne.martin@exemple.fr")
    assert Membership.objects.get(user=user).role == Membership.Role.MAIN_MANAGER
    assert not ApprovalRequest.objects.exists()
    assert user.signup_comment == ""
    assert all(COMMENT not in m.body for m in outbox())


def test_an_account_attached_before_activation_still_activates(client, signup_data, farm, outbox):
    """Staff may attach the account before it is activated: no request, and the comment goes."""
    client.post(SIGNUP, signup_data(identifier=farm.siret, comment=COMMENT))
    user = User.objects.get(email="jeanne.martin@exemple.fr")
    MembershipFactory(user=user, structure=farm)

    activate(client, outbox)

    user.refresh_from_db()
    assert user.is_active and user.signup_comment == ""
    assert not ApprovalRequest.objects.exists()
    assert Structure.objects.count() == 1
    summary = next(m for m in outbox() if "est activé" in m.subject)
    assert farm.siret in summary.body


def test_a_comment_over_2000_characters_is_refused_next_to_the_field(client, signup_data):
    response = client.post(SIGNUP, signup_data(comment="x" * 2001))

    assert response.status_code == 200
    assert "comment" in response.context["form"].errors
    assert not User.objects.exists()
