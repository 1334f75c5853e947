"""Query budgets (P1): every page that lists rows costs as many queries with 200 rows as with 1.

Each case counts the queries of one page in a world whose lists all hold
`rows` rows. The count must equal the page's budget below whatever the
rows: a query per row fails at 200, a new query fails at both sizes (raise a
budget only for a query worth its cost). The budgets include the session and
the user (2), the second-factor device the session passed (1: django-otp's middleware reads it on every
signed-in page) and, on every page with the menu, the « Approbations » badge (1).
"""

from dataclasses import dataclass

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.models import User
from approvals.models import ApprovalRequest
from structures.models import BankAccount, Membership, Structure
from tests.factories import StructureFactory, activated_accounts


def structures(count: int) -> list[Structure]:
    """Structures inserted at once, each with its creation in the history, as sign-up leaves it."""
    return bulk_create_with_history(StructureFactory.build_batch(count), Structure)


def bank_account(structure: Structure, n: int = 0, **fields) -> BankAccount:
    return BankAccount(
        structure=structure,
        label=f"Compte {n}",
        iban=f"FR76300060000112345{n:08d}",
        bic="AGRIFRPPXXX",
        rib="ab/rib.pdf",
        rib_filename="rib.pdf",
        is_default=n == 0,
        **fields,
    )


@dataclass
class World:
    me: User  # main manager of `farm` (with `rows` other members), simple user of the other structures
    farm: Structure
    account: BankAccount  # the farm's default account
    request: ApprovalRequest  # a pending request on the farm, by someone attached to `rows` structures


def build(rows: int) -> World:
    """Every list of every page holds `rows` rows."""
    [me, *members] = activated_accounts(1 + rows, first_name="Marie")
    [farm, *others] = structures(rows)
    targets = structures(rows)
    # « Structures », « Mes rattachements » and the checklist: my structures.
    # « Utilisateurs de la structure »: the farm's members.
    Membership.objects.bulk_create(
        [
            Membership(user=me, structure=farm, role=Membership.Role.MAIN_MANAGER),
            *(Membership(user=me, structure=other) for other in others),
            *(Membership(user=member, structure=farm) for member in members),
        ]
    )
    # The farm's page lists its accounts; « Structures » lists every structure's.
    [account, *_] = BankAccount.objects.bulk_create(
        [bank_account(farm, n, created_by=me) for n in range(rows)] + [bank_account(other) for other in others]
    )
    # The queue, the badge and the checklist: requests waiting on the farm.
    requesters = activated_accounts(rows, first_name="Romane")
    [request, *_] = ApprovalRequest.objects.bulk_create(
        ApprovalRequest(requester=requester, structure=farm) for requester in requesters
    )
    # A request's page lists its requester's structures.
    Membership.objects.bulk_create(Membership(user=requesters[0], structure=target) for target in targets)
    # « Mes rattachements »: my own requests, every other one refused.
    ApprovalRequest.objects.bulk_create(
        ApprovalRequest(requester=me, structure=target)
        if n % 2 == 0
        else ApprovalRequest(
            requester=me,
            structure=target,
            state=ApprovalRequest.State.REFUSED,
            decided_by=requesters[0],
            decided_at=timezone.now(),
            reason="Personne inconnue",
        )
        for n, target in enumerate(targets)
    )
    return World(me=me, farm=farm, account=account, request=request)


@pytest.fixture(scope="module")
def worlds(django_db_setup, django_db_blocker):
    """Both worlds, built once for the module (as Django's `setUpTestData` does) and rolled back at its end.

    Each is self-contained: its manager sees nothing of the other.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield {rows: build(rows) for rows in (1, 200)}
        transaction.set_rollback(True)


PAGES = {
    # page: (its address in the world, its queries)
    # My memberships (with bank details and waiting requests: step 5 and the badge), my requests, the history.
    "home": (lambda w: reverse("home"), 6),
    "organisation": (lambda w: reverse("organisation"), 4),
    "structure_list": (lambda w: reverse("structures:structure_list"), 7),  # memberships, accounts, my pending requests
    "structure_detail": (lambda w: reverse("structures:structure_detail", args=[w.farm.pk]), 8),  # + role, history
    "structure_users": (lambda w: reverse("structures:structure_users", args=[w.farm.pk]), 6),
    # The members to choose from, read twice (the template tests the list, then the form renders it).
    "main_manager_hand_over": (lambda w: reverse("structures:main_manager_hand_over", args=[w.farm.pk]), 7),
    "bank_account_detail": (lambda w: reverse("structures:bank_account_detail", args=[w.account.pk]), 6),
    # The menu's count of pending requests pages them too; then the page's ids, their rows.
    "approval_list": (lambda w: reverse("approvals:approval_list"), 6),
    "approval_list_last_page": (lambda w: reverse("approvals:approval_list") + "?page=4", 6),
    "approval_detail": (lambda w: reverse("approvals:approval_detail", args=[w.request.pk]), 6),
    "my_memberships": (lambda w: reverse("approvals:my_memberships"), 6),
    "request_attachment": (lambda w: reverse("approvals:request_attachment"), 4),
}


@pytest.mark.parametrize("rows", [1, 200])
@pytest.mark.parametrize("page", PAGES)
def test_the_page_costs_its_budget_whatever_the_rows(db, sign_in, worlds, page, rows):
    world = worlds[rows]
    url, budget = PAGES[page]
    client = sign_in(world.me)  # the password just typed: the hand-over page asks for it otherwise

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url(world))

    assert response.status_code == 200
    assert len(captured) == budget, "\n".join(query["sql"] for query in captured.captured_queries)


def test_the_world_fills_every_list(db, sign_in, worlds):
    """The budgets above mean something only if the pages do list the rows."""
    world = worlds[200]
    client = sign_in(world.me)

    def shown(url: str, needle: str) -> int:
        return client.get(url).text.count(needle)

    assert shown(reverse("structures:structure_list"), "/organisation/structures/coordonnees-bancaires/") >= 200
    assert shown(reverse("structures:structure_detail", args=[world.farm.pk]), "/coordonnees-bancaires/") >= 200
    assert shown(reverse("structures:structure_users", args=[world.farm.pk]), "@exemple.fr</td>") == 201
    assert shown(reverse("structures:main_manager_hand_over", args=[world.farm.pk]), 'name="membership"') == 200
    assert shown(reverse("approvals:approval_list"), 'name="requests"') == 50
    assert shown(reverse("approvals:approval_detail", args=[world.request.pk]), "(SIRET ") >= 200
    mine = client.get(reverse("approvals:my_memberships")).text
    assert mine.count("Personne inconnue") == 100 and mine.count(">Retirer<") == 100
    assert "200 demandes de rattachement attendent votre décision" in client.get(reverse("home")).text
