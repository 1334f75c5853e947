"""The audit trail: sign-ins, decisions, bank details, roles and structure changes, with who, when and which IP."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from approvals.models import ApprovalRequest
from audit.models import Action, AuditEvent, ImmutableEvent
from structures.models import BankAccount, Membership
from tests.factories import PASSWORD
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
    signed_in(member).post(reverse("accounts:logout"))

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
    [granted] = events(Action.ROLE_GRANTED, actor=manager)
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

    signed_in(manager).post(reverse("structures:hand_over", args=[farm.pk]), {"membership": membership.pk})

    changes = events(Action.ROLE_CHANGED)
    assert {event.target for event in changes} == {
        f"{manager.email} : Gestionnaire",
        f"{second_manager.email} : Gestionnaire principal",
    }
    assert {(event.actor, event.ip) for event in changes} == {(manager, IP)}


def test_a_structure_edit_records_which_fields_changed(signed_in, manager, farm):
    signed_in(manager)
    farm.city = "Crest"
    farm.save()

    [event] = events(Action.STRUCTURE_CHANGED)
    assert (event.structure, event.details) == (farm, {"champs": ["city"]})


def test_a_step_that_fails_leaves_no_audit_row(signed_in, manager, farm, member, monkeypatch):
    approval_request = ApprovalRequest.objects.create(requester=member, structure=farm)
    monkeypatch.setattr("approvals.emails.decision_made", lambda request: 1 / 0)
    client = signed_in(manager)
    client.raise_request_exception = False

    client.post(reverse("approvals:approve", args=[approval_request.pk]))

    assert not events(Action.REQUEST_APPROVED, Action.ROLE_GRANTED, actor=manager)
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
    farm.save()
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
