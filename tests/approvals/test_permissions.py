"""Every view of step 5 × every persona: the status, and for a refusal, that nothing changed.

Only the managers of a structure see or decide its requests and manage its
users; everything out of scope answers 404, staff included (they use the
admin). A second manager may detach simple users but neither hands over the
role nor detaches a manager (403: they see the page, not the button).
"""

import pytest
from django.core import mail
from django.urls import get_resolver, reverse

from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.factories import MembershipFactory, PendingUserFactory

PERSONAS = ["anonymous", "outsider", "requester", "attached", "manager", "second_manager", "other_manager", "staff"]


@pytest.fixture
def world(pending, attached, farm):
    return {
        "pending": pending,
        "attached": attached.memberships.get(),
        "never_activated": MembershipFactory(structure=farm, user=PendingUserFactory()),
    }


def snapshot():
    return (
        sorted(ApprovalRequest.objects.values_list("pk", "state", "decided_by", "reason")),
        sorted(Membership.objects.values_list("pk", "user", "structure", "role")),
        len(mail.outbox),
    )


def target(world, name):
    """(method, url, data) of the view `name`, aimed at the farm's objects."""
    pending, attached, never_activated = world["pending"], world["attached"], world["never_activated"]
    args = {
        "approvals:approval_detail": [pending.pk],
        "approvals:approve": [pending.pk],
        "approvals:refuse": [pending.pk],
        "approvals:withdraw": [pending.pk],
        "structures:structure_users": [attached.structure_id],
        "structures:membership_detach": [attached.structure_id, attached.pk],
        "structures:main_manager_hand_over": [attached.structure_id],
        "accounts:resend_member_activation": [never_activated.pk],
    }.get(name, [])
    data = {
        "approvals:refuse": {"reason": "Non."},
        "approvals:approve_selection": {"requests": [pending.pk]},
        "approvals:refuse_selection": {"requests": [pending.pk], "reason": "Non."},
        "structures:main_manager_hand_over": {"membership": attached.pk},
        "approvals:request_attachment": {"siret": pending.structure.siret, "comment": "Bonjour"},
        "approvals:structure_create": {"siret": pending.structure.siret, "comment": "Bonjour"},
    }.get(name, {})
    return reverse(name, args=args), data


# Expected status per persona, in PERSONAS' order; 302 for anonymous is the sign-in page.
DECIDE = [302, 404, 404, 404, 302, 302, 404, 404]
MANAGERS_ONLY = [302, 404, 404, 404, 200, 200, 404, 404]
ANY_SIGNED_IN = [302, 200, 200, 200, 200, 200, 200, 200]
EXPECTED = {
    ("approvals:approval_list", "get"): ANY_SIGNED_IN,
    ("approvals:approval_detail", "get"): MANAGERS_ONLY,
    ("approvals:approve", "get"): DECIDE,  # back to the request, nothing decided
    ("approvals:approve", "post"): DECIDE,
    ("approvals:refuse", "get"): MANAGERS_ONLY,
    ("approvals:refuse", "post"): DECIDE,
    ("approvals:approve_selection", "post"): DECIDE,
    ("approvals:refuse_selection", "post"): DECIDE,
    ("approvals:my_memberships", "get"): ANY_SIGNED_IN,
    ("approvals:request_attachment", "get"): ANY_SIGNED_IN,
    ("approvals:request_attachment", "post"): [
        302,
        302,
        200,
        200,
        200,
        200,
        302,
        302,
    ],  # 200: already attached or pending
    # The farm's SIRET: a request, as « Demander un rattachement » files it (200: already attached or pending).
    ("approvals:structure_create", "get"): ANY_SIGNED_IN,
    ("approvals:structure_create", "post"): [302, 302, 200, 200, 200, 200, 302, 302],
    ("approvals:withdraw", "post"): [302, 404, 302, 404, 404, 404, 404, 404],
    ("structures:structure_users", "get"): MANAGERS_ONLY,
    ("structures:membership_detach", "get"): MANAGERS_ONLY,
    ("structures:membership_detach", "post"): [302, 404, 404, 404, 302, 302, 404, 404],
    ("structures:main_manager_hand_over", "get"): [302, 404, 404, 404, 200, 403, 404, 404],
    ("structures:main_manager_hand_over", "post"): [302, 404, 404, 404, 302, 403, 404, 404],
    ("accounts:resend_member_activation", "post"): [302, 404, 404, 404, 302, 302, 404, 404],
}
CASES = [
    pytest.param(name, method, persona, statuses[index], id=f"{method}-{name}-{persona}")
    for (name, method), statuses in EXPECTED.items()
    for index, persona in enumerate(PERSONAS)
]


def test_every_url_of_step_five_is_in_the_matrix():
    step_five = {f"approvals:{pattern.name}" for pattern in get_resolver("approvals.urls").url_patterns} | {
        "structures:structure_users",
        "structures:membership_detach",
        "structures:main_manager_hand_over",
        "accounts:resend_member_activation",
    }

    assert step_five == {name for name, _ in EXPECTED}


@pytest.mark.parametrize(("name", "method", "persona", "status"), CASES)
def test_who_may_do_what(request, client, sign_in, world, outbox, name, method, persona, status):
    url, data = target(world, name)
    browser = client if persona == "anonymous" else sign_in(request.getfixturevalue(persona))
    before = snapshot()

    response = getattr(browser, method)(url, data)

    assert response.status_code == status
    if persona == "anonymous":
        assert response["Location"].startswith(reverse("accounts:login"))
    allowed_change = method == "post" and status == 302 and persona != "anonymous"
    if not allowed_change:
        outbox()
        assert snapshot() == before


def test_the_queue_lists_only_my_structures_requests(client, sign_in, pending, elsewhere, manager, other_manager):
    mine = sign_in(manager).get(reverse("approvals:approval_list")).text
    theirs = sign_in(other_manager).get(reverse("approvals:approval_list")).text

    assert pending.get_absolute_url() in mine and elsewhere.get_absolute_url() not in mine
    assert elsewhere.get_absolute_url() in theirs and pending.get_absolute_url() not in theirs


def test_changing_the_id_to_another_structures_request_is_a_404(sign_in, manager, elsewhere, outbox):
    browser = sign_in(manager)

    for url in [reverse("approvals:approve", args=[elsewhere.pk]), reverse("approvals:refuse", args=[elsewhere.pk])]:
        assert browser.post(url, {"reason": "Non."}).status_code == 404

    elsewhere.refresh_from_db()
    assert elsewhere.state == "requested"
    assert outbox() == []


def test_a_manager_cannot_detach_from_another_structure_by_changing_the_ids(
    sign_in, manager, other_manager, farm, outbox
):
    theirs = MembershipFactory(structure=other_manager.memberships.get().structure)
    browser = sign_in(manager)

    assert browser.post(reverse("structures:membership_detach", args=[farm.pk, theirs.pk])).status_code == 404
    assert (
        browser.post(reverse("structures:membership_detach", args=[theirs.structure_id, theirs.pk])).status_code == 404
    )
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_refusals_are_explained_in_the_portals_own_pages(sign_in, second_manager, manager, farm, elsewhere):
    browser = sign_in(second_manager)

    forbidden = browser.post(reverse("structures:membership_detach", args=[farm.pk, manager.memberships.get().pk]))
    missing = browser.get(reverse("approvals:approval_detail", args=[elsewhere.pk]))

    assert forbidden.status_code == 403
    assert "<h1>Accès refusé</h1>" in forbidden.text
    assert "Seul le gestionnaire principal détache un gestionnaire." in forbidden.text
    assert missing.status_code == 404
    assert "<h1>Page introuvable</h1>" in missing.text
