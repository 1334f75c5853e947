"""Decisions taken at once on PostgreSQL: one wins, the others are told, one mail leaves."""

import pytest
from django.urls import reverse
from post_office.models import Email

from approvals.models import ApprovalRequest
from structures.models import Membership
from tests.accounts.test_races import run_together
from tests.factories import MembershipFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("postgresql_only")]

ALREADY = "Cette demande a déjà été traitée."


def test_ten_decisions_on_one_request_make_one_decision_and_one_mail(
    pending, manager, second_manager, requester, sign_in
):
    browsers = [sign_in(manager if n % 2 else second_manager) for n in range(10)]
    url = reverse("approvals:approve", args=[pending.pk])

    responses = run_together(*[lambda b=b: b.post(url, follow=True) for b in browsers])

    assert [r.status_code for r in responses] == [200] * 10, responses
    assert sum(ALREADY in r.text for r in responses) == 9
    pending.refresh_from_db()
    assert pending.state == "approved"
    assert Membership.objects.filter(user=requester, structure=pending.structure).count() == 1
    assert Email.objects.filter(to=requester.email).count() == 1


def test_approve_and_refuse_at_once_one_wins(pending, manager, second_manager, requester, sign_in):
    approve = sign_in(manager)
    refuse = sign_in(second_manager)

    responses = run_together(
        lambda: approve.post(reverse("approvals:approve", args=[pending.pk]), follow=True),
        lambda: refuse.post(reverse("approvals:refuse", args=[pending.pk]), {"reason": "Inconnue."}, follow=True),
    )

    assert [r.status_code for r in responses] == [200, 200], responses
    assert sum(ALREADY in r.text for r in responses) == 1
    pending.refresh_from_db()
    attached = Membership.objects.filter(user=requester, structure=pending.structure).exists()
    assert (pending.state, attached) in {("approved", True), ("refused", False)}
    assert Email.objects.filter(to=requester.email).count() == 1


def test_two_bulk_decisions_over_the_same_requests_decide_each_once(farm, manager, second_manager, sign_in):
    requests = [ApprovalRequest.objects.create(structure=farm, requester=UserFactory()) for _ in range(5)]
    ids = [r.pk for r in requests]
    approve, refuse = sign_in(manager), sign_in(second_manager)

    responses = run_together(
        lambda: approve.post(reverse("approvals:approve_selection"), {"requests": ids}),
        lambda: refuse.post(reverse("approvals:refuse_selection"), {"requests": ids[::-1], "reason": "Non."}),
    )

    assert [r.status_code for r in responses] == [302, 302], responses
    assert ApprovalRequest.objects.pending().count() == 0
    assert Email.objects.count() == 5


def test_handing_over_the_role_twice_at_once_leaves_one_main_manager(farm, manager, sign_in):
    first, second = [MembershipFactory(structure=farm).pk for _ in range(2)]
    tabs = [sign_in(manager), sign_in(manager)]
    url = reverse("structures:main_manager_hand_over", args=[farm.pk])

    responses = run_together(
        *[
            lambda t=t, m=m: t.post(url, {"membership": m}, follow=True)
            for t, m in zip(tabs, [first, second], strict=True)
        ]
    )

    # The later tab is refused either at the row lock (« ont changé entre-temps ») or, if the first has already
    # committed when it arrives, on arrival: its user is no longer the main manager (403).
    refused = [r for r in responses if r.status_code == 403 or "ont changé entre-temps" in r.text]
    assert sorted(r.status_code for r in responses) in ([200, 200], [200, 403]), responses
    assert len(refused) == 1, responses
    assert Membership.objects.filter(structure=farm, role="main_manager").count() == 1
    assert Membership.objects.get(user=manager).role == "manager"


def test_one_attachment_asked_twice_at_once_is_filed_once(farm, requester, sign_in):
    tabs = [sign_in(requester), sign_in(requester)]
    url = reverse("approvals:request_attachment")

    responses = run_together(*[lambda t=t: t.post(url, {"siret": farm.siret}) for t in tabs])

    assert sorted(r.status_code for r in responses) == [200, 302], responses
    refused = next(r for r in responses if r.status_code == 200)
    assert "Vous avez déjà une demande de rattachement en attente pour cette structure." in refused.text
    assert ApprovalRequest.objects.filter(requester=requester, structure=farm).count() == 1
