"""Issue 6: a support agent answering a call does each task from the admin, as a member of the « Support » group.

The agent is a staff account in the group that accounts/migrations/0003 creates, driving the admin
as a browser would; the caller is a farmer. Each test is one task of the call.
"""

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from post_office.models import STATUS, Email
from stdnum import luhn

from accounts.models import User
from approvals.models import ApprovalRequest
from audit.models import Action, AuditEvent
from structures.models import Membership, Structure
from tests.factories import (
    PASSWORD,
    STRUCTURE_FORM,
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    PendingUserFactory,
    StructureFactory,
    UserFactory,
)
from tests.signing_in import sign_in_with_password
from tests.structures.conftest import IBAN, upload

USERS = reverse("admin:accounts_user_changelist")
STRUCTURES = reverse("admin:structures_structure_changelist")
MEMBERSHIPS = reverse("admin:structures_membership_changelist")
REQUESTS = reverse("admin:approvals_approvalrequest_changelist")
INDEX = reverse("admin:index")
LOGIN = reverse("accounts:login")


def user_page(user) -> str:
    return reverse("admin:accounts_user_change", args=[user.pk])


def on_page(agent, url, action, obj, **extra):
    """Runs an admin action from the object's own page, as its « Action » menu posts it."""
    return agent.post(url, {"CHANGE_FORM-action": action, "_selected_action": [obj.pk], **extra}, follow=True)


def rows(response) -> list:
    return list(response.context["cl"].result_list)


def siret(siren: str, nic: str) -> str:
    return siren + nic + luhn.calc_check_digit(siren + nic)


# 1. Find the caller


def test_the_agent_finds_a_caller_by_login_or_contact_address_name_or_siret_once(agent):
    siren = "73282932"
    siren += luhn.calc_check_digit(siren)
    caller = UserFactory(
        email="jeanne.martin@exemple.fr", contact_email="compta@earl-martin.fr", first_name="Jeanne", last_name="Martin"
    )
    # Two establishments of one company (one SIREN): searching the SIREN matches both memberships.
    for nic in ["0001", "0002"]:
        MembershipFactory(user=caller, structure=StructureFactory(siret=siret(siren, nic)))
    UserFactory(email="paul.durand@exemple.fr", first_name="Paul", last_name="Durand")
    spoken_siret = " ".join([siren[:3], siren[3:6], siren[6:], "00017"])  # read out in groups on the phone

    for query in ["JEANNE.MARTIN@", "compta@earl-martin", "jeanne martin", siren, spoken_siret]:
        found = rows(agent.get(USERS, {"q": query}))

        assert found == [caller], query


# 2. Did they activate, when was the link sent, did the mail leave


def test_the_agent_sees_that_the_caller_never_activated_and_that_the_link_was_sent(agent, client, signup_data, outbox):
    client.post(reverse("accounts:signup"), signup_data(contact_email="bureau@earl-martin.fr"))
    caller = User.objects.get(email="jeanne.martin@exemple.fr")
    outbox()  # the mail worker's pass: the activation and summary mails leave
    Email.objects.create(
        to=["bureau@earl-martin.fr"], from_email="portail@exemple.fr", subject="Avis", status=STATUS.failed
    )
    Email.objects.create(to=["xjeanne.martin@exemple.fr"], from_email="portail@exemple.fr", subject="Pas pour elle")

    never_activated = rows(agent.get(USERS, {"activation": "pending"}))
    page = agent.get(user_page(caller)).text

    assert caller in never_activated
    assert timezone.localtime(caller.activation_sent_at).strftime("%H:%M") in page
    assert "Activez votre compte Chorus Pro TIC/TICGN : <strong>envoyé</strong> (à jeanne.martin@exemple.fr)" in page
    assert "Avis : <strong>échec</strong> (à bureau@earl-martin.fr)" in page  # the contact address's mail too
    assert "Pas pour elle" not in page  # another address that merely contains hers


# 3. Resend the activation link


def test_the_agent_resends_the_activation_link_and_only_the_new_one_works(agent, client, signup_data, outbox):
    client.post(reverse("accounts:signup"), signup_data())
    caller = User.objects.get(email="jeanne.martin@exemple.fr")
    first = next(m for m in outbox() if "Activez" in m.subject)

    with time_machine.travel(timezone.now() + timedelta(minutes=5)):  # the caller rings a few minutes later
        response = on_page(agent, user_page(caller), "resend_activation_link", caller)

    assert "1 lien(s) d&#x27;activation envoyé(s)." in response.text
    activation_mails = [m for m in outbox() if "Activez" in m.subject]
    assert len(activation_mails) == 2 and activation_mails[-1].to == ["jeanne.martin@exemple.fr"]
    link = re.compile(r"http://127\.0\.0\.1:8000(/compte/activer/\S+/)")
    old_path, new_path = link.search(first.body).group(1), link.search(activation_mails[-1].body).group(1)
    assert "est plus valable" in Client().get(old_path, follow=True).text  # a newer link voids the older
    assert "Veuillez saisir votre nouveau mot de passe" in Client().get(new_path, follow=True).text


# 4. Lift a sign-in lockout


def test_the_agent_lifts_a_lockout_and_the_caller_signs_in_again(agent, agent_account, member, settings):
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client().post(LOGIN, {"username": member.email, "password": "Mauvais-Mot-2031"}, REMOTE_ADDR=f"203.0.113.{n}")
    caller = Client()
    assert caller.post(LOGIN, {"username": member.email, "password": PASSWORD}).status_code == 429
    assert "Bloquée après" in agent.get(user_page(member)).text

    response = on_page(agent, user_page(member), "unlock_sign_in", member)

    assert "Connexion débloquée pour 1 compte(s)" in response.text
    assert "Non bloquée" in response.text
    signed_in = sign_in_with_password(caller, member.email)
    assert signed_in.status_code == 302 and signed_in.url == reverse("home")
    lifted = AuditEvent.objects.get(action=Action.LOCKOUT_LIFTED)
    assert (lifted.actor, lifted.target) == (agent_account, member.email)


def test_the_agents_own_password_changes_on_the_portals_page_where_guesses_lock_the_account(
    agent, agent_account, settings
):
    """The admin's « Modifier le mot de passe » would check the current password uncounted."""
    admin_page = reverse("admin:password_change")
    portal_page = reverse("accounts:password_change")
    guess = {
        "old_password": "Mauvais-Mot-2031",
        "new_password1": "Neuf-Mot-De-Passe-2031",
        "new_password2": "Neuf-Mot-De-Passe-2031",
    }

    assert agent.get(admin_page).url == portal_page
    assert agent.post(admin_page, guess).url == portal_page
    for _ in range(settings.AXES_FAILURE_LIMIT):
        agent.post(portal_page, guess)

    response = agent.post(portal_page, {**guess, "old_password": PASSWORD})
    assert response.status_code == 429
    agent_account.refresh_from_db()
    assert agent_account.check_password(PASSWORD)


def test_lifting_from_the_list_says_which_accounts_were_not_locked(agent, member, outsider):
    Client().post(LOGIN, {"username": member.email, "password": "Mauvais-Mot-2031"})

    response = agent.post(
        USERS, {"action": "unlock_sign_in", "_selected_action": [member.pk, outsider.pk]}, follow=True
    )

    assert "Connexion débloquée pour 1 compte(s)" in response.text
    assert "1 compte(s) sans échec de connexion récent." in response.text
    assert AuditEvent.objects.filter(action=Action.LOCKOUT_LIFTED).count() == 1


# 5. Their structures and their pending requests, with their age


def test_the_agent_sees_the_callers_structures_and_how_long_their_requests_wait(agent, member):
    MembershipFactory(user=member, structure=StructureFactory(name="EARL des Tilleuls"))
    waiting = ApprovalRequestFactory(requester=member, structure=StructureFactory(name="GAEC du Moulin"))
    ApprovalRequest.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(days=9))
    decided = ApprovalRequestFactory(requester=member, structure=StructureFactory(name="CUMA du Val"))
    decided.refuse(UserFactory(), "Inconnu.")

    page = agent.get(user_page(member)).text
    queue = agent.get(REQUESTS, {"state__exact": "requested"}).text

    assert "EARL des Tilleuls" in page  # the structures inline
    assert "GAEC du Moulin (SIRET" in page and "il y a 9 jours" in page
    assert "CUMA du Val" not in page
    assert "il y a 9 jours" in queue


# 6. Appoint a main manager


def test_the_agent_appoints_a_main_manager_where_none_is_active(agent, farm, manager, second_manager, outbox):
    manager.is_active = False  # the main manager left and deactivated their account
    manager.save()

    orphans = rows(agent.get(STRUCTURES, {"gestionnaire_principal": "absent"}))
    membership = second_manager.memberships.get()
    response = agent.post(
        MEMBERSHIPS, {"action": "appoint_main_manager", "_selected_action": [membership.pk]}, follow=True
    )

    assert orphans == [farm]
    assert "est gestionnaire principal de" in response.text
    membership.refresh_from_db()
    assert membership.role == Membership.Role.MAIN_MANAGER
    assert manager.memberships.get().role == Membership.Role.MANAGER
    assert [m.to for m in outbox()] == [["gaston@contact.fr"]]  # the new one; the deactivated one gets nothing
    assert rows(agent.get(STRUCTURES, {"gestionnaire_principal": "absent"})) == []


# 7. The structure's history, its bank details and the audit trail


def test_the_agent_reads_the_structures_history_bank_details_and_audit_trail(
    agent, sign_in, manager, farm, private_media
):
    browser = sign_in(manager)
    saved = browser.post(reverse("structures:structure_update", args=[farm.pk]), STRUCTURE_FORM)
    assert saved.status_code == 302
    # Created on the site, as the manager does: the step writes its audit row (a factory's row would have none).
    browser.post(
        reverse("structures:bank_account_create"),
        {"label": "Compte courant", "structure": farm.pk, "iban": IBAN, "bic": "AGRIFRPP", "rib_file": upload()},
    )
    account = farm.bank_accounts.get()
    StructureFactory(name="GAEC voisin")  # another structure's events stay out

    structure_page = agent.get(reverse("admin:structures_structure_change", args=[farm.pk])).text
    history = agent.get(reverse("admin:structures_structure_history", args=[farm.pk])).text
    account_history = agent.get(reverse("admin:structures_bankaccount_history", args=[account.pk]))
    trail = agent.get(reverse("admin:audit_auditevent_changelist"), {"structure": farm.pk})

    assert "Compte courant" in structure_page and account.masked_iban in structure_page
    assert "EARL des Trois Chênes" in history and manager.email in history
    assert account_history.status_code == 200
    actions = {event.action for event in rows(trail)}
    assert {Action.STRUCTURE_CHANGED, Action.BANK_CREATED} <= actions
    assert all(event.structure_id == farm.pk for event in rows(trail))
    assert f"?structure={farm.pk}" in structure_page  # the structure's page links to its trail


# The admin index: what needs attention


def test_the_index_counts_requests_waiting_over_7_days_and_structures_without_a_main_manager(agent):
    now = timezone.now()
    old = [ApprovalRequestFactory(structure=StructureFactory(name=f"EARL {n}")) for n in range(3)]
    for age, request in zip([8, 20, 12], old, strict=True):
        ApprovalRequest.objects.filter(pk=request.pk).update(created_at=now - timedelta(days=age))
    ApprovalRequestFactory()  # waiting since today
    MembershipFactory(role=Membership.Role.MAIN_MANAGER)  # a structure with an active main manager

    index = re.sub(r">\s+<", "><", agent.get(INDEX).text)
    stale = agent.get(REQUESTS, {"attente": "plus_de_7_jours"})

    assert "Demandes de rattachement en attente depuis plus de 7 jours</a></th><td>3</td>" in index
    assert index.index("il y a 20 jours") < index.index("il y a 12 jours") < index.index("il y a 8 jours")
    assert f'href="{REQUESTS}?attente=plus_de_7_jours"' in index
    # Every structure but the last one has no main manager (factories make none).
    orphans = Structure.objects.count() - 1
    assert f"Structures sans gestionnaire principal actif</a></th><td>{orphans}</td>" in index
    assert f'href="{STRUCTURES}?gestionnaire_principal=absent"' in index
    assert set(rows(stale)) == set(old)


def test_the_index_costs_the_same_queries_for_one_old_request_or_twenty(agent):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert agent.get(INDEX).status_code == 200
        return len(captured)

    make_old = ApprovalRequest.objects.update
    ApprovalRequestFactory()
    make_old(created_at=timezone.now() - timedelta(days=10))
    one = queries()
    ApprovalRequestFactory.create_batch(19)
    make_old(created_at=timezone.now() - timedelta(days=10))

    assert queries() == one


def test_staff_who_may_not_view_requests_or_structures_see_no_dashboard(client, staff):
    ApprovalRequestFactory()
    client.force_login(staff)

    page = client.get(INDEX).text

    assert "À traiter" not in page


# Lists: no query per row


@pytest.mark.parametrize("changelist", [USERS, STRUCTURES, MEMBERSHIPS, REQUESTS])
def test_lists_cost_the_same_queries_for_one_row_or_twenty(agent, changelist):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert agent.get(changelist).status_code == 200
        return len(captured)

    def add_one():
        farmer = UserFactory()
        structure = StructureFactory()
        MembershipFactory(user=farmer, structure=structure, role=Membership.Role.MAIN_MANAGER)
        ApprovalRequestFactory(structure=structure, requester=PendingUserFactory())

    add_one()
    one = queries()
    for _ in range(19):
        add_one()

    assert queries() == one


# What the group may not do


def test_the_agent_deletes_nothing_and_changes_no_bank_details(agent, farm, manager, private_media):
    account = BankAccountFactory(structure=farm)
    membership = manager.memberships.get()
    deletes = [
        reverse("admin:accounts_user_delete", args=[manager.pk]),
        reverse("admin:structures_structure_delete", args=[farm.pk]),
        reverse("admin:structures_membership_delete", args=[membership.pk]),
        reverse("admin:structures_bankaccount_delete", args=[account.pk]),
    ]

    for url in deletes:
        assert agent.get(url).status_code == 403, url
        assert agent.post(url, {"post": "yes"}).status_code == 403, url
    changed = agent.post(
        reverse("admin:structures_bankaccount_change", args=[account.pk]),
        {"iban": "FR1420041010050500013M02606", "label": "Volé"},
    )

    assert changed.status_code == 403
    assert User.objects.filter(pk=manager.pk).exists() and Membership.objects.filter(pk=membership.pk).exists()
    account.refresh_from_db()
    assert account.label != "Volé" and account.iban == "FR7630006000011234567890189"


def test_the_agent_changes_a_callers_details_but_not_rights_nor_password(agent):
    """Nor the addresses: the login one changes through « Changer l'adresse de connexion », the contact one by
    its owner, each once the new address confirms (tests/accounts/test_address_changes.py)."""
    caller = UserFactory(email="jeanne.martin@exemple.fr", first_name="Jeane", contact_email="compta@earl.fr")
    password = caller.password

    response = agent.post(
        user_page(caller),
        {
            "email": "agent.perso@exemple.fr",
            "first_name": "Jeanne",
            "last_name": caller.last_name,
            "phone": "",
            "contact_email": "agent.perso@exemple.fr",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )
    password_page = reverse("admin:auth_user_password_change", args=[caller.pk])
    set_password = agent.post(password_page, {"password1": "Nouveau-Mot-2031x", "password2": "Nouveau-Mot-2031x"})

    assert response.status_code == 302  # saved...
    caller.refresh_from_db()
    assert caller.first_name == "Jeanne"
    assert (caller.email, caller.contact_email) == ("jeanne.martin@exemple.fr", "compta@earl.fr")
    assert not caller.is_staff and not caller.is_superuser  # ...without the rights
    assert agent.get(password_page).status_code == 403 and set_password.status_code == 403
    assert caller.password == password
    assert 'href="../password/"' not in agent.get(user_page(caller)).text


def test_the_agent_cannot_change_a_staff_account_nor_the_groups(agent, agent_account):
    boss = UserFactory(email="boss@exemple.fr", is_staff=True, is_superuser=True)

    page = agent.get(user_page(boss))
    takeover = agent.post(user_page(boss), {"email": "agent@exemple.fr", "first_name": "B", "last_name": "B"})
    own = agent.post(user_page(agent_account), {"email": "agent@exemple.fr", "is_superuser": "on"})

    assert page.status_code == 200 and 'name="email"' not in page.text  # read-only
    assert takeover.status_code == 403 and own.status_code == 403
    boss.refresh_from_db()
    assert boss.email == "boss@exemple.fr"
    assert agent.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert agent.get(reverse("admin:accounts_user_add")).status_code == 403


def test_the_support_group_is_created_again_identically_and_removed_on_reverse(support_group):
    """accounts/migrations/0003, then refunds/migrations/0003 (the refunds it reads) and sirene/migrations/0002 (the
    directory's imports): idempotent (run again, the same group) and reversible."""
    loader = MigrationExecutor(connection).loader
    target = ("accounts", "0003_support_group")
    migration = loader.get_migration(*target)
    apps = loader.project_state(target).apps
    refunds_target = ("refunds", "0003_support_reads_refunds")
    grant_refunds = loader.get_migration(*refunds_target).operations[0].code
    refunds_apps = loader.project_state(refunds_target, at_end=True).apps
    sirene_target = ("sirene", "0002_support_reads_imports")
    grant_sirene = loader.get_migration(*sirene_target).operations[0].code
    sirene_apps = loader.project_state(sirene_target, at_end=True).apps
    editor = SimpleNamespace(connection=connection)  # the functions only read its connection's alias
    create, delete = migration.operations[0].code, migration.operations[0].reverse_code
    before = set(Group.objects.get(name="Support").permissions.values_list("codename", flat=True))

    create(apps, editor)
    grant_refunds(refunds_apps, editor)
    grant_sirene(sirene_apps, editor)
    after = set(Group.objects.get(name="Support").permissions.values_list("codename", flat=True))
    delete(apps, editor)

    assert after == before
    assert not {codename for codename in before if codename.startswith(("add_", "delete_"))}
    assert "change_bankaccount" not in before
    assert not Group.objects.filter(name="Support").exists()
