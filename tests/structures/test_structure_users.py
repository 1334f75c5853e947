"""« Utilisateurs de la structure »: who is attached, detaching, activation links, the main-manager role."""

import pytest
from django.urls import reverse

from structures import workflows
from structures.models import Membership
from tests.factories import MembershipFactory, PendingUserFactory, UserFactory


def users_url(structure):
    return reverse("structures:structure_users", args=[structure.pk])


def detach_url(membership):
    return reverse("structures:membership_detach", args=[membership.structure_id, membership.pk])


def hand_over_url(structure):
    return reverse("structures:main_manager_hand_over", args=[structure.pk])


@pytest.fixture
def never_activated(farm):
    return MembershipFactory(structure=farm, user=PendingUserFactory(first_name="Noé", email="noe@exemple.fr"))


def test_the_manager_sees_who_is_attached_their_role_and_since_when(client, manager, farm, attached, never_activated):
    client.force_login(manager)

    html = client.get(users_url(farm)).text

    assert "<h1>Utilisateurs de la structure</h1>" in html
    assert f"{manager.get_full_name()} (vous)" in html and "Gestionnaire principal" in html
    assert attached.email in html and "Utilisateur" in html
    assert "Jamais activé" in html and "Renvoyer le lien d'activation" in html
    assert detach_url(attached.memberships.get()) in html
    assert hand_over_url(farm) in html


def test_a_second_manager_detaches_users_but_not_managers_nor_hands_over(
    client, second_manager, farm, manager, attached
):
    client.force_login(second_manager)

    html = client.get(users_url(farm)).text

    assert detach_url(attached.memberships.get()) in html
    assert detach_url(manager.memberships.get()) not in html
    assert hand_over_url(farm) not in html
    assert client.post(detach_url(manager.memberships.get())).status_code == 403
    assert client.get(hand_over_url(farm)).status_code == 403


def test_detaching_a_user_who_left_asks_confirmation_then_mails_them(client, manager, farm, attached, outbox):
    membership = attached.memberships.get()
    client.force_login(manager)

    confirm = client.get(detach_url(membership))
    assert "ne pourra plus agir pour la structure" in confirm.text
    assert Membership.objects.filter(pk=membership.pk).exists()

    response = client.post(detach_url(membership), follow=True)

    assert response.redirect_chain == [(users_url(farm), 302)]
    assert "n&#x27;est plus rattaché(e) à la structure" in response.text
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [mail] = outbox()
    assert mail.to == [attached.email]
    assert f"Vous n'êtes plus rattaché(e) à la structure {farm.siret}" == mail.subject
    assert "vous en a détaché(e)" in mail.body and "vous en a détaché(e)" in mail.alternatives[0].content


def test_the_main_manager_cannot_be_detached_nor_detach_themself(client, manager, second_manager, farm):
    client.force_login(manager)

    assert client.post(detach_url(manager.memberships.get())).status_code == 403
    assert Membership.objects.filter(structure=farm).count() == 2


def test_the_main_manager_detaches_a_manager(client, manager, second_manager, farm):
    client.force_login(manager)

    client.post(detach_url(second_manager.memberships.get()))

    assert not Membership.objects.filter(user=second_manager).exists()


def test_detaching_again_from_an_old_page_is_a_404_and_sends_nothing(client, manager, attached, farm, outbox):
    membership = attached.memberships.get()
    client.force_login(manager)
    client.post(detach_url(membership))

    assert client.post(detach_url(membership)).status_code == 404
    assert len(outbox()) == 1


def test_a_membership_detached_or_promoted_meanwhile_is_left_alone(manager, attached, farm, outbox):
    membership = attached.memberships.get()
    Membership.objects.filter(pk=membership.pk).delete()
    with pytest.raises(workflows.MembershipChanged):
        workflows.detach(membership, by=manager)
    main = manager.memberships.get()
    with pytest.raises(workflows.MembershipChanged):
        workflows.detach(main, by=manager)

    assert Membership.objects.filter(pk=main.pk).exists()
    assert outbox() == []


def test_a_manager_resends_the_activation_link_of_a_user_who_never_activated(client, manager, never_activated, outbox):
    client.force_login(manager)

    response = client.post(reverse("accounts:resend_member_activation", args=[never_activated.pk]), follow=True)

    assert "Un nouveau lien d&#x27;activation est envoyé à Noé" in response.text
    [mail] = outbox()
    assert mail.to == ["noe@exemple.fr"]
    assert "/compte/activer/" in mail.body


def test_no_link_is_sent_to_an_activated_user(client, manager, attached, outbox):
    client.force_login(manager)

    response = client.post(
        reverse("accounts:resend_member_activation", args=[attached.memberships.get().pk]), follow=True
    )

    assert "a déjà activé son compte" in response.text
    assert outbox() == []


def test_activation_links_to_one_user_are_limited_per_hour(client, manager, never_activated, settings, outbox):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "resend": 2}
    client.force_login(manager)
    url = reverse("accounts:resend_member_activation", args=[never_activated.pk])

    responses = [client.post(url, follow=True) for _ in range(3)]

    assert "Plusieurs liens ont déjà été envoyés" in responses[-1].text
    assert len(outbox()) == 2


def test_nobody_outside_the_structures_managers_resends_a_link(
    client, attached, other_manager, never_activated, outbox
):
    url = reverse("accounts:resend_member_activation", args=[never_activated.pk])
    for user in [attached, other_manager]:
        client.force_login(user)
        assert client.post(url).status_code == 404
    client.force_login(never_activated.structure.memberships.get(role="main_manager").user)
    assert client.get(url)["Location"] == users_url(never_activated.structure)  # a GET sends nothing
    assert outbox() == []


# Handing over the main-manager role.


def test_handing_over_asks_for_the_password_again(manager, farm, sign_in):
    client = sign_in(manager, fresh=False)

    response = client.get(hand_over_url(farm))

    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:confirm_password"))


def test_the_main_manager_hands_the_role_over_after_confirming(
    manager, farm, attached, never_activated, sign_in, outbox
):
    client = sign_in(manager)
    target = attached.memberships.get()

    choose = client.get(hand_over_url(farm))
    assert attached.email in choose.text
    assert "noe@exemple.fr" not in choose.text  # never activated: not eligible

    confirm = client.get(hand_over_url(farm), {"membership": target.pk, "continuer": "1"})
    assert "Confirmez la transmission" in confirm.text
    assert Membership.objects.get(pk=target.pk).role == "user"

    response = client.post(hand_over_url(farm), {"membership": target.pk}, follow=True)

    assert response.redirect_chain == [(users_url(farm), 302)]
    assert "est désormais gestionnaire principal" in response.text
    assert Membership.objects.get(pk=target.pk).role == "main_manager"
    assert manager.memberships.get().role == "manager"
    mails = {mail.to[0]: mail for mail in outbox()}
    assert set(mails) == {manager.email, attached.email}
    assert mails[attached.email].subject == f"Vous êtes gestionnaire principal de la structure {farm.siret}"
    assert "Vous restez gestionnaire" in mails[manager.email].body
    assert "Vous restez gestionnaire" in mails[manager.email].alternatives[0].content


@pytest.mark.parametrize("target", ["never_activated", "deactivated", "outsider", "nothing", "bogus"])
def test_the_role_goes_only_to_an_active_user_of_the_structure(
    manager, farm, never_activated, outsider, sign_in, target, outbox
):
    deactivated = MembershipFactory(structure=farm, user=UserFactory(is_active=False))
    outsider_membership = MembershipFactory(user=outsider)
    value = {
        "never_activated": never_activated.pk,
        "deactivated": deactivated.pk,
        "outsider": outsider_membership.pk,
        "nothing": "",
        "bogus": "1 OR 1=1",
    }[target]
    client = sign_in(manager)

    response = client.post(hand_over_url(farm), {"membership": value})

    assert response.status_code == 200
    assert "Erreur – " in response.text
    assert manager.memberships.get().role == "main_manager"
    assert Membership.objects.filter(role="main_manager").count() == 1  # the outsider's structure has none
    assert outbox() == []


def test_staff_appoint_a_main_manager_from_the_admin(client, admin_user, manager, farm, attached, outbox):
    client.force_login(admin_user)
    membership = attached.memberships.get()

    response = client.post(
        reverse("admin:structures_membership_changelist"),
        {"action": "appoint_main_manager", "_selected_action": [membership.pk]},
        follow=True,
    )

    assert "est gestionnaire principal" in response.text
    membership.refresh_from_db()
    assert membership.role == "main_manager"
    assert manager.memberships.get().role == "manager"
    assert len(outbox()) == 2


def test_the_admin_refuses_to_appoint_someone_who_never_activated(client, admin_user, manager, never_activated):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:structures_membership_changelist"),
        {"action": "appoint_main_manager", "_selected_action": [never_activated.pk]},
        follow=True,
    )

    assert "Impossible" in response.text
    assert manager.memberships.get().role == "main_manager"


def test_continuing_without_choosing_says_to_choose(manager, farm, attached, sign_in):
    client = sign_in(manager)

    first_visit = client.get(hand_over_url(farm), {"utm_source": "courriel"})
    nothing_chosen = client.get(hand_over_url(farm), {"continuer": "1"})

    assert "Erreur – " not in first_visit.text
    assert "Choisissez le nouveau gestionnaire principal." in nothing_chosen.text
    assert 'class="fr-radio-group"' in nothing_chosen.text


def test_a_handover_that_cannot_mail_saves_nothing(manager, farm, attached, sign_in, monkeypatch):
    def smtp_down(*args, **kwargs):
        raise ConnectionError("mail queue unavailable")

    monkeypatch.setattr("structures.workflows.emails.main_manager_changed", smtp_down)
    client = sign_in(manager)
    client.raise_request_exception = False

    response = client.post(hand_over_url(farm), {"membership": attached.memberships.get().pk})

    assert response.status_code == 500
    assert manager.memberships.get().role == "main_manager"
    assert attached.memberships.get().role == "user"


def test_the_admin_changes_no_role_outside_the_handover(client, admin_user, manager, attached):
    """A role posted in the admin changes nothing: « Nommer gestionnaire principal » is the way, and it mails."""
    client.force_login(admin_user)
    membership = attached.memberships.get()
    url = reverse("admin:structures_membership_change", args=[membership.pk])

    client.post(url, {"user": attached.pk, "structure": membership.structure_id, "role": "main_manager"})
    client.post(
        reverse("admin:structures_membership_change", args=[manager.memberships.get().pk]),
        {"user": manager.pk, "structure": membership.structure_id, "role": "user"},
    )
    client.post(url, {"user": attached.pk, "structure": membership.structure_id, "role": "manager"})

    assert manager.memberships.get().role == "main_manager"
    assert attached.memberships.get().role == "user"
    assert "Nommer gestionnaire principal" in client.get(url).text


def test_support_finds_structures_without_an_active_main_manager(client, admin_user, manager, farm, other_manager):
    manager.is_active = False
    manager.save()
    client.force_login(admin_user)

    html = client.get(reverse("admin:structures_structure_changelist"), {"gestionnaire_principal": "absent"}).text

    assert farm.siret in html
    assert other_manager.memberships.get().structure.siret not in html
