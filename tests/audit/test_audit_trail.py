"""The audit trail: sign-ins, decisions, bank details, roles and structure changes, with who, when and which IP."""

import re

import pytest
from django.contrib import admin
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse

from accounts import workflows
from accounts.tokens import activation_token
from approvals.models import ApprovalRequest
from audit.models import Action, AuditEvent, ImmutableEvent
from structures import workflows as structures
from structures.models import BankAccount, Membership
from tests.factories import PASSWORD, PendingUserFactory
from tests.structures.conftest import upload

IP = "203.0.113.7"
IBAN = "FR7630006000011234567890189"


def events(*actions, **filters):
    return list(AuditEvent.objects.filter(action__in=actions, **filters).order_by("pk"))


@pytest.fixture
def visitor():
    return Client(REMOTE_ADDR=IP)


@pytest.fixture
def signed_in(sign_in):
    """sign_in, from the address IP."""

    def make(user):
        client = sign_in(user)
        client.defaults["REMOTE_ADDR"] = IP
        return client

    return make


def test_a_sign_in_is_recorded_with_its_address(visitor, member):
    visitor.post(reverse("accounts:login"), {"username": member.email.upper(), "password": PASSWORD})

    [event] = events(Action.SIGN_IN)
    assert (event.actor, event.actor_label, event.ip) == (member, member.email, IP)


def test_failed_sign_ins_and_the_lockout_are_recorded_without_the_password(visitor, member, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _ in range(3):
        visitor.post(reverse("accounts:login"), {"username": member.email, "password": "Mauvais-mot-2-passe"})

    failures = events(Action.SIGN_IN_FAILED)
    assert failures and {(event.actor_label, event.ip, event.actor) for event in failures} == {(member.email, IP, None)}
    assert events(Action.LOCKED_OUT)[0].ip == IP
    assert not AuditEvent.objects.filter(details__icontains="Mauvais").exists()


def test_sign_out_is_recorded(signed_in, member):
    signed_in(member).post(reverse("accounts:sign_out"))

    [event] = events(Action.SIGN_OUT)
    assert (event.actor, event.ip) == (member, IP)


def test_a_decision_names_its_approver_the_structure_and_the_reason(signed_in, manager, farm, member):
    approval_request = ApprovalRequest.objects.create(requester=member, structure=farm)

    signed_in(manager).post(reverse("approvals:refuse", args=[approval_request.pk]), {"reason": "Inconnu ici."})

    [event] = events(Action.REQUEST_REFUSED)
    assert (event.actor, event.structure, event.ip) == (manager, farm, IP)
    assert member.email in event.target and event.details == {"motif": "Inconnu ici."}


def test_an_approval_records_the_decision_and_the_new_role(signed_in, manager, farm, member):
    approval_request = ApprovalRequest.objects.create(requester=member, structure=farm)

    signed_in(manager).post(reverse("approvals:approve", args=[approval_request.pk]))

    [decision] = events(Action.REQUEST_APPROVED)
    [granted] = events(Action.MEMBERSHIP_CREATED, actor=manager)
    assert decision.actor == granted.actor == manager
    assert granted.target == f"{member.email} : Utilisateur" and granted.ip == IP


def test_bank_details_are_recorded_masked(signed_in, manager, farm, private_media):
    client = signed_in(manager)
    client.post(
        reverse("structures:bank_account_create"),
        {"label": "Compte courant", "structure": farm.pk, "iban": IBAN, "bic": "AGRIFRPP", "rib_file": upload()},
    )
    bank_account = BankAccount.objects.get()
    client.post(reverse("structures:bank_account_update", args=[bank_account.pk]), {"label": "Compte principal"})

    created, changed = events(Action.BANK_CREATED, Action.BANK_CHANGED)
    assert (created.action, created.actor, created.structure, created.ip) == (Action.BANK_CREATED, manager, farm, IP)
    assert changed.details == {"champs": ["label"]}
    assert not AuditEvent.objects.filter(target__contains=IBAN[4:]).exists()
    assert "189" in created.target  # the masked IBAN's last digits, enough to recognise it


def test_handing_over_the_main_manager_role_records_both_role_changes(signed_in, manager, farm, second_manager):
    membership = second_manager.memberships.get()

    signed_in(manager).post(reverse("structures:main_manager_hand_over", args=[farm.pk]), {"membership": membership.pk})

    changes = events(Action.ROLE_CHANGED)
    assert {event.target for event in changes} == {
        f"{manager.email} : Gestionnaire",
        f"{second_manager.email} : Gestionnaire principal",
    }
    assert {(event.actor, event.ip) for event in changes} == {(manager, IP)}


def test_a_structure_edit_records_which_fields_changed(manager, farm):
    farm.city = "Crest"
    structures.update_structure(farm, by=manager)

    [event] = events(Action.STRUCTURE_CHANGED)
    assert (event.structure, event.details) == (farm, {"champs": ["city"]})


def test_a_step_that_fails_leaves_no_audit_row(signed_in, manager, farm, member, monkeypatch):
    approval_request = ApprovalRequest.objects.create(requester=member, structure=farm)
    monkeypatch.setattr("approvals.emails.decision_made", lambda request: 1 / 0)
    client = signed_in(manager)
    client.raise_request_exception = False

    client.post(reverse("approvals:approve", args=[approval_request.pk]))

    assert not events(Action.REQUEST_APPROVED, Action.MEMBERSHIP_CREATED, actor=manager)
    assert not Membership.objects.filter(user=member).exists()


def test_rows_cannot_be_changed_or_deleted(member):
    event = AuditEvent.objects.create(action=Action.SIGN_IN, actor=member, actor_label=member.email)

    event.actor_label = "quelqu.un@ailleurs.fr"
    for attempt in [
        event.save,
        event.delete,
        lambda: AuditEvent.objects.update(actor_label="x"),
        lambda: AuditEvent.objects.filter(pk=event.pk).delete(),
    ]:
        with pytest.raises(ImmutableEvent):
            attempt()
    assert AuditEvent.objects.get(pk=event.pk).actor_label == member.email


def test_deleting_a_user_keeps_their_trail_as_written(member):
    AuditEvent.objects.create(action=Action.SIGN_IN, actor=member, actor_label=member.email)
    member_id, email = member.pk, member.email

    member.delete()

    event = AuditEvent.objects.get()
    assert (event.actor_id, event.actor_label) == (member_id, email)


def test_staff_read_the_trail_in_the_admin_and_cannot_change_it(client, db, django_user_model, manager, farm):
    superuser = django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S")
    client.force_login(superuser)
    farm.city = "Crest"
    structures.update_structure(farm, by=manager)
    event = AuditEvent.objects.get(action=Action.STRUCTURE_CHANGED)

    listing = client.get(reverse("admin:audit_auditevent_changelist"))
    detail = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))
    attempts = [
        client.get(reverse("admin:audit_auditevent_add")).status_code,
        client.post(reverse("admin:audit_auditevent_change", args=[event.pk]), {"target": "x"}).status_code,
        client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code,
    ]

    assert listing.status_code == detail.status_code == 200
    assert "Structure modifiée" in listing.text and farm.siret in listing.text
    assert attempts == [403, 403, 403]
    assert AuditEvent.objects.get(pk=event.pk).target == event.target
    assert not admin.site._registry[AuditEvent].get_actions(listing.wsgi_request)


def test_a_row_built_with_an_existing_id_does_not_overwrite_it(member):
    event = AuditEvent.objects.create(action=Action.SIGN_IN, actor=member, actor_label=member.email)

    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent(pk=event.pk, action=Action.SIGN_IN, actor_label="faux@exemple.fr").save()

    assert AuditEvent.objects.get(pk=event.pk).actor_label == member.email


def test_postgresql_refuses_updates_and_deletes_even_in_raw_sql(member):
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    event = AuditEvent.objects.create(action=Action.SIGN_IN, actor=member, actor_label=member.email)

    for sql in [
        "UPDATE audit_auditevent SET actor_label = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).actor_label == member.email


NEW_PASSWORD = "Colza-Orge-Luzerne-77"


def only(action, **filters) -> AuditEvent:
    [event] = events(action, **filters)
    return event


def test_the_account_steps_are_recorded(signed_in, visitor, member, farm, outbox):
    pending = PendingUserFactory(email="attente@exemple.fr")
    workflows.activate(pending.pk, activation_token.make_token(pending), NEW_PASSWORD)
    client = signed_in(member)
    client.post(reverse("accounts:profile"), {"first_name": "Paulo", "last_name": "Membre", "contact_email": ""})
    client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    client.post(reverse("approvals:request_attachment"), {"siret": farm.siret, "comment": ""})
    client.post(reverse("approvals:withdraw", args=[ApprovalRequest.objects.get(requester=member).pk]))
    visitor.post(reverse("accounts:password_reset"), {"email": member.email})
    [link] = re.findall(r"https?://\S+/mot-de-passe-oublie/\S+/", "\n".join(m.body for m in outbox()))
    visitor.post(visitor.get(link).url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    member.refresh_from_db()  # its new password, and sessions signed with it
    client = signed_in(member)
    client.post(reverse("accounts:deactivate"), {"password": PASSWORD, "confirm": "on"})

    assert only(Action.ACTIVATED).actor == pending
    assert only(Action.ACCOUNT_CHANGED).details == {"champs": ["first_name"]}
    assert {only(action).actor for action in [Action.PASSWORD_CHANGED, Action.PASSWORD_RESET]} == {member}
    assert only(Action.REQUEST_FILED).structure == only(Action.REQUEST_WITHDRAWN).structure == farm
    assert (only(Action.DEACTIVATED).actor, only(Action.DEACTIVATED).ip) == (member, IP)


def test_staff_changes_to_an_account_are_recorded(member, django_user_model):
    superuser = django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S")
    staff = Client(REMOTE_ADDR=IP)
    staff.force_login(superuser)

    staff.post(
        reverse("admin:auth_user_password_change", args=[member.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )

    event = only(Action.PASSWORD_SET_BY_STAFF)
    assert (event.actor, event.target, event.ip) == (superuser, member.email, IP)


def test_no_password_is_written_anywhere_in_the_trail(visitor, member, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for password in ["Mauvais-Mot-2031", "Mauvais-Mot-2032", PASSWORD]:
        visitor.post(reverse("accounts:login"), {"username": member.email, "password": password})

    written = str(list(AuditEvent.objects.values_list()))
    assert "Mauvais-Mot" not in written and PASSWORD not in written
