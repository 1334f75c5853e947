import json
from collections import Counter
from datetime import timedelta
from io import StringIO

import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone
from schwifty import IBAN
from stdnum.fr import siret

from accounts.models import User
from approvals.models import ApprovalRequest
from structures import seeding
from structures.models import BankAccount, Membership, Structure
from structures.validators import clean_bic, clean_iban, clean_pacage
from tests.factories import UserFactory

STRUCTURES, USERS, PENDING = 300, 800, 60
MANAGER, MEMBER = "bench.gestionnaire@exemple.fr", "bench.utilisateur@exemple.fr"


@pytest.fixture
def seeded(db, tmp_path):
    """A small farm country, seeded by the real command; returns the manifest."""
    manifest, output = tmp_path / "seed.json", StringIO()
    call_command(
        "seed_scale",
        structures=STRUCTURES,
        users=USERS,
        pending=PENDING,
        seed=7,
        manifest=manifest,
        stdout=output,
    )
    assert output.getvalue().splitlines()[-1].startswith("Seeded in ")
    return json.loads(manifest.read_text())


def test_it_fills_each_table_and_reports_the_counts(seeded):
    counts = {
        "accounts_user": User.objects.count(),
        "structures_structure": Structure.objects.count(),
        "structures_membership": Membership.objects.count(),
        "structures_bankaccount": BankAccount.objects.count(),
        "approvals_approvalrequest": ApprovalRequest.objects.count(),
    }
    assert counts == seeded["counts"]
    assert counts["accounts_user"] == USERS and counts["structures_structure"] == STRUCTURES
    # About 70% of structures have bank details; besides the bench's queue, one pending request per two structures.
    assert 0.6 * STRUCTURES < Structure.objects.filter(bank_accounts__is_default=True).count() < 0.8 * STRUCTURES
    states = Counter(ApprovalRequest.objects.values_list("state", flat=True))
    assert states["requested"] == PENDING + STRUCTURES // 2 + 1  # + the bench member's own
    assert states["approved"] == Membership.objects.exclude(role=Membership.Role.MAIN_MANAGER).count()
    assert states["refused"] > 0 and states["withdrawn"] > 0


def test_identifiers_are_valid_and_unique(seeded):
    sirets = list(Structure.objects.values_list("siret", flat=True))
    assert all(siret.is_valid(number) for number in sirets) and len(set(sirets)) == len(sirets)
    pacages = [number for number in Structure.objects.values_list("pacage", flat=True) if number]
    assert all(clean_pacage(number) == number for number in pacages) and len(set(pacages)) == len(pacages)
    for iban, bic in BankAccount.objects.values_list("iban", "bic"):
        assert IBAN(iban, validate_bban=True).country_code == "FR"
        clean_bic(bic, clean_iban(iban))  # the bank's own BIC, as the form requires
    phones = [*Structure.objects.values_list("phone", flat=True), *User.objects.values_list("phone", flat=True)]
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(phone)) for phone in phones if phone)
    emails = list(User.objects.values_list("email", flat=True))
    assert all(email == email.lower() for email in emails) and len(set(emails)) == len(emails)


def test_every_structure_has_one_activated_main_manager_and_centres_no_pacage(seeded):
    main = Q(memberships__role=Membership.Role.MAIN_MANAGER)
    structures = Structure.objects.annotate(
        mains=Count("memberships", filter=main),
        eligible=Count("memberships", filter=main & Q(memberships__user__is_active=True)),
    )
    assert set(structures.values_list("mains", "eligible")) == {(1, 1)}
    centres = Structure.objects.filter(is_agricultural_centre=True)
    assert centres.exists() and not centres.exclude(pacage="", beneficiary_category="").exists()
    biggest_centre = centres.annotate(people=Count("memberships")).order_by("-people").first()
    assert biggest_centre.people >= 10
    assert 0.02 < User.objects.filter(is_active=False).count() / USERS < 0.08
    assert not User.objects.filter(is_active=False).exclude(password__startswith="!").exists()


def test_dates_follow_each_other(seeded):
    """Accounts and structures come before their requests and memberships, requests before their decisions."""
    too_early = Q(created_at__lt=F("requester__date_joined")) | Q(created_at__lt=F("structure__created_at"))
    assert not ApprovalRequest.objects.filter(too_early).exists()
    assert not ApprovalRequest.objects.filter(decided_at__lt=F("created_at")).exists()
    too_early = Q(created_at__lt=F("user__date_joined")) | Q(created_at__lt=F("structure__created_at"))
    assert not Membership.objects.filter(too_early).exists()
    assert not BankAccount.objects.filter(created_at__lt=F("structure__created_at")).exists()
    assert not User.objects.filter(activated_at__lt=F("date_joined")).exists()


def test_the_bench_manager_has_the_pending_queue_and_two_bank_accounts(seeded):
    manager = User.objects.get(email=MANAGER)
    farm = Structure.objects.get(pk=seeded["structure_id"])
    assert farm.name == "EARL Banc d'Essai"
    assert farm.memberships.get(role=Membership.Role.MAIN_MANAGER).user == manager
    assert farm.memberships.count() >= 4
    queue = ApprovalRequest.objects.decidable_by(manager).pending()
    assert queue.count() == PENDING
    assert queue.values("requester").distinct().count() == PENDING
    assert not queue.filter(requester__memberships__structure=farm).exists()
    assert not queue.filter(created_at__lt=timezone.now() - timedelta(days=60)).exists()
    accounts = farm.bank_accounts.all()
    assert sorted(accounts.values_list("pk", flat=True)) == sorted(seeded["bank_account_ids"])
    assert [account.is_default for account in accounts] == [True, False]


def test_the_bench_member_is_a_user_of_the_farm_with_requests_of_their_own(seeded):
    member = User.objects.get(email=MEMBER)
    assert member.memberships.get(structure_id=seeded["structure_id"]).role == Membership.Role.USER
    states = Counter(
        member.approval_requests.exclude(structure_id=seeded["structure_id"]).values_list("state", flat=True)
    )
    assert states == {"requested": 1, "approved": 1, "refused": 1}


def test_the_personas_sign_in_through_the_sign_in_page_with_the_password(seeded, client):
    for email in (seeded["manager"], seeded["member"]):
        response = client.post(reverse("accounts:login"), {"username": email, "password": seeded["password"]})
        assert response.status_code == 302 and response.url == reverse("home"), email
        assert client.get(reverse("approvals:approval_list")).status_code == 200
        client.logout()
    assert seeded["password"] == seeding.DEFAULT_PASSWORD
    # Every other activated user shares that password's hash: a million users cost one hash.
    assert User.objects.filter(is_active=True).values("password").distinct().count() == 1


def test_the_placeholder_rib_is_stored_once_and_downloads(seeded, sign_in):
    farm_account = BankAccount.objects.get(pk=seeded["bank_account_ids"][0])
    assert set(BankAccount.objects.values_list("rib", flat=True)) == {farm_account.rib.name}
    response = sign_in(User.objects.get(email=MANAGER)).get(reverse("structures:rib_download", args=[farm_account.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_the_manifest_names_what_the_bench_needs(seeded):
    assert set(seeded) == {
        "password", "manager", "member", "structure_id", "bank_account_ids", "pending_request_ids", "sirets",
        "counts", "seconds",
    }  # fmt: skip
    pending = ApprovalRequest.objects.filter(pk__in=seeded["pending_request_ids"])
    assert len(seeded["pending_request_ids"]) == PENDING == pending.filter(structure_id=1, state="requested").count()
    newest = list(pending.order_by("-created_at").values_list("pk", flat=True))
    assert seeded["pending_request_ids"] == newest
    assert len(seeded["sirets"]) == STRUCTURES == Structure.objects.filter(siret__in=seeded["sirets"]).count()
    assert seeded["seconds"] >= 0


def test_new_rows_get_the_next_ids(seeded):
    user = UserFactory()
    assert user.pk == USERS + 1


def test_the_same_seed_gives_the_same_data(db):
    now = timezone.now()
    first, second = (seeding.Plan(100, 300, 20, 50, seed=3, now=now) for _ in range(2))
    assert first.memberships == second.memberships and first.requests == second.requests
    rows = [list(seeding.Rows(plan, "hash", "rib.pdf", "v").structures()) for plan in (first, second)]
    assert rows[0] == rows[1]
    assert rows[0] != list(seeding.Rows(seeding.Plan(100, 300, 20, 50, seed=4, now=now), "h", "r", "v").structures())


def test_it_refuses_a_database_that_is_not_empty(db, tmp_path):
    UserFactory()
    with pytest.raises(CommandError, match="not empty"):
        call_command("seed_scale", structures=20, users=50, pending=5, manifest=tmp_path / "seed.json")
    assert User.objects.count() == 1 and not Structure.objects.exists()
    assert not (tmp_path / "seed.json").exists()


def test_it_refuses_more_pending_requests_than_requesters(db):
    with pytest.raises(CommandError, match="more users"):
        call_command("seed_scale", structures=20, users=50, pending=100)
