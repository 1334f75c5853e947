"""The audit rows staff's steps in the admin leave, as support reads them in the « Journal d'audit ».

A superuser posts each step to the real admin, as the browser posts the page it was shown; the
admin's hooks call the structures' workflows, which write the rows. Memberships are read-only there
(roles change through the site's workflows): their pages change nothing and write nothing. The purge
of accounts never activated goes through the same workflows, with nobody signed in.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import Action, AuditEvent
from structures.models import Membership, Structure
from tests.factories import BankAccountFactory, MembershipFactory, PendingUserFactory, StructureFactory

SIRET = "73282932000074"
INLINE = "memberships"  # the memberships inline's prefix, on a structure's page and on a user's
HOW = ["delete page", "delete_selected"]  # an object's « Supprimer » page, or the list's bulk action


def trail() -> list[tuple]:
    """The audit rows but sign-ins, oldest first: action, author, structure, object, details (`champs`)."""
    return [
        (event.action, event.actor, event.structure_id, event.target, event.details)
        for event in AuditEvent.objects.exclude(action=Action.SIGN_IN).order_by("pk")
    ]


def by_object(row: tuple) -> str:
    return row[3]


def admin_url(obj_or_model, page: str, *args) -> str:
    meta = obj_or_model._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_{page}", args=args)


def page_data(response) -> dict:
    """What the admin page's form posts as shown: its fields, each inline's management form and rows."""
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for field in (field for form in forms for field in form):
        value = field.value()
        if value is True:
            data[field.html_name] = "on"
        elif isinstance(value, list):
            data[field.html_name] = [str(item) for item in value]
        elif value is not None and value is not False:
            data[field.html_name] = str(value)
    return data


def save(browser, url: str, edit=lambda data: None) -> None:
    """Opens the admin page, lets `edit` change what it posts, and saves: the admin redirects once saved."""
    data = page_data(browser.get(url))
    edit(data)
    response = browser.post(url, data)
    assert response.status_code == 302, response.context["errors"]


def delete(browser, objects: list, how: str):
    """Confirms the deletion on the object's « Supprimer » page, or with the list's action on those ticked."""
    if how == "delete page":
        [obj] = objects
        return browser.post(admin_url(obj, "delete", obj.pk), {"post": "yes"})
    selected = [obj.pk for obj in objects]
    return browser.post(
        admin_url(objects[0], "changelist"), {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    )


def inline_row(data: dict, membership: Membership) -> str:
    """The prefix of the membership's row in the memberships inline."""
    rows = range(int(data[f"{INLINE}-TOTAL_FORMS"]))
    [row] = [f"{INLINE}-{n}" for n in rows if data.get(f"{INLINE}-{n}-id") == str(membership.pk)]
    return row


def add_inline_row(data: dict, **fields) -> None:
    """A row added to the memberships inline, as « Ajouter un objet Rattachement supplémentaire » does."""
    n = int(data[f"{INLINE}-TOTAL_FORMS"])
    data[f"{INLINE}-TOTAL_FORMS"] = str(n + 1)
    data.update({f"{INLINE}-{n}-{name}": value for name, value in fields.items()})


@pytest.fixture
def staff_browser(client, admin_user):
    """The superuser's browser, signed in to the admin."""
    client.force_login(admin_user)
    return client


# 1. and 2. A structure added, changed


def test_a_structure_added_in_the_admin_is_recorded_as_created(staff_browser, admin_user):
    save(staff_browser, admin_url(Structure, "add"), lambda data: data.update(siret=SIRET, name="GAEC Neuf"))

    structure = Structure.objects.get(siret=SIRET)
    assert trail() == [(Action.STRUCTURE_CREATED, admin_user, structure.pk, f"GAEC Neuf (SIRET {SIRET})", {})]


def test_a_structure_changed_in_the_admin_records_the_fields_changed(staff_browser, admin_user, farm):
    save(staff_browser, admin_url(farm, "change", farm.pk), lambda data: data.update(city="Crest", postal_code="26400"))

    assert trail() == [
        (Action.STRUCTURE_CHANGED, admin_user, farm.pk, farm.name_and_siret, {"champs": ["city", "postal_code"]})
    ]


def test_a_structure_saved_unchanged_in_the_admin_leaves_no_row(staff_browser, farm, attached, private_media):
    BankAccountFactory(structure=farm)

    save(staff_browser, admin_url(farm, "change", farm.pk))

    assert trail() == []


# 3. Memberships: read-only in the admin, so its pages write no row (roles change through the workflows)


@pytest.mark.parametrize("page", ["structure", "user", "membership"])
def test_a_role_posted_in_the_admin_changes_nothing_and_writes_no_row(staff_browser, farm, attached, page):
    membership = attached.memberships.get()
    shown = {"structure": farm, "user": attached, "membership": membership}[page]
    data = page_data(staff_browser.get(admin_url(shown, "change", shown.pk)))
    if page == "membership":
        data["role"] = "manager"
    else:
        data[f"{inline_row(data, membership)}-role"] = "manager"

    response = staff_browser.post(admin_url(shown, "change", shown.pk), data)

    assert response.status_code == (403 if page == "membership" else 302)
    membership.refresh_from_db()
    assert membership.role == Membership.Role.USER
    assert trail() == []


@pytest.mark.parametrize("page", ["structure", "user", "membership"])
def test_a_membership_cannot_be_added_in_the_admin(staff_browser, farm, member, page):
    row = {"user": member.pk, "structure": farm.pk, "role": "manager"}
    if page == "membership":
        assert staff_browser.post(admin_url(Membership, "add"), row).status_code == 403
    else:
        shown = farm if page == "structure" else member
        save(staff_browser, admin_url(shown, "change", shown.pk), lambda data: add_inline_row(data, **row))

    assert not Membership.objects.filter(user=member).exists()
    assert trail() == []


@pytest.mark.parametrize("how", ["structure page", "user page", *HOW])
def test_a_membership_cannot_be_deleted_in_the_admin(staff_browser, farm, attached, how):
    """Ending one silently would bypass « Détacher », which tells the user."""
    membership = attached.memberships.get()
    if how in HOW:
        delete(staff_browser, [membership], how)
    else:
        shown = farm if how == "structure page" else attached
        save(
            staff_browser,
            admin_url(shown, "change", shown.pk),
            lambda data: data.update({f"{inline_row(data, membership)}-DELETE": "on"}),
        )

    assert Membership.objects.filter(pk=membership.pk).exists()
    assert trail() == []


# 4. Structures deleted


@pytest.mark.parametrize("how", HOW)
def test_a_structure_deleted_in_the_admin_is_recorded(staff_browser, admin_user, how):
    empty = StructureFactory()

    assert delete(staff_browser, [empty], how).status_code == 302

    assert trail() == [(Action.STRUCTURE_DELETED, admin_user, empty.pk, empty.name_and_siret, {})]
    assert not Structure.objects.filter(pk=empty.pk).exists()


@pytest.mark.parametrize("how", HOW)
def test_a_structure_with_members_or_bank_details_cannot_be_deleted_in_the_admin(
    staff_browser, farm, attached, private_media, how
):
    """Refused even to a superuser, so the admin writes no row.

    Memberships and bank details are read-only in the admin (their admins delete nothing), and deleting the
    structure would take them along, its members and managers told nothing: Django refuses. The purge is where a
    structure's memberships and bank details go with it (the last tests).
    """
    BankAccountFactory(structure=farm)

    assert delete(staff_browser, [farm], how).status_code == 403

    assert Structure.objects.filter(pk=farm.pk).exists()
    assert trail() == []


# 5. Users deleted


@pytest.mark.parametrize("how", HOW)
def test_a_user_with_memberships_cannot_be_deleted_in_the_admin(staff_browser, farm, attached, how):
    """Their memberships would end without « Détacher » and its mail; a leaving user is deactivated instead."""
    assert delete(staff_browser, [attached], how).status_code == 403

    assert attached.memberships.exists()
    assert trail() == []


# 6. The purge of accounts never activated, by nobody


def purge_unactivated():
    """`manage.py purge_unactivated --days 7`, run 8 days after the accounts' activation links were sent."""
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        call_command("purge_unactivated", days=7)


def test_the_purge_records_the_memberships_and_the_structures_it_deletes(farm):
    stale = MembershipFactory(user=PendingUserFactory(), role=Membership.Role.MAIN_MANAGER).user
    lonely = stale.memberships.get().structure
    MembershipFactory(user=stale, structure=farm)  # the farm keeps its manager: it stays

    purge_unactivated()

    assert trail() == [
        (Action.MEMBERSHIP_ENDED, None, lonely.pk, f"{stale.email} : Gestionnaire principal", {}),
        (Action.STRUCTURE_DELETED, None, lonely.pk, lonely.name_and_siret, {}),
        (Action.MEMBERSHIP_ENDED, None, farm.pk, f"{stale.email} : Utilisateur", {}),
    ]


def test_the_purge_records_the_bank_details_of_a_structure_it_deletes(db, private_media):
    stale = MembershipFactory(user=PendingUserFactory(), role=Membership.Role.MAIN_MANAGER).user
    lonely = stale.memberships.get().structure
    BankAccountFactory(structure=lonely, label="Compte courant")

    purge_unactivated()

    assert trail() == [
        (Action.MEMBERSHIP_ENDED, None, lonely.pk, f"{stale.email} : Gestionnaire principal", {}),
        (Action.BANK_DELETED, None, lonely.pk, "« Compte courant » (FR76 •••• … 189)", {}),
        (Action.STRUCTURE_DELETED, None, lonely.pk, lonely.name_and_siret, {}),
    ]
