import pytest

from structures.models import Membership
from tests.factories import (
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
    refund_reference_data,
)


@pytest.fixture(autouse=True)
def _reference_data(db, private_media):
    """The shipped products, rates and campaigns; invoices and RIBs in a throw-away folder."""
    refund_reference_data()


@pytest.fixture
def farm(db):
    """A farm ready to file: category, PACAGE 035000123, and a default bank account with its RIB."""
    structure = FarmFactory(name="EARL des Peupliers", pacage="035000123")
    BankAccountFactory(structure=structure, label="Compte courant", iban="FR7630006000011234567890189")
    return structure


@pytest.fixture
def farmer(farm):
    """The farm's main manager."""
    return MembershipFactory(
        structure=farm, role=Membership.Role.MAIN_MANAGER, user__first_name="Marie", user__last_name="Champ"
    ).user


@pytest.fixture
def farm_user(farm):
    """A simple user of the farm."""
    return MembershipFactory(structure=farm, role=Membership.Role.USER, user__first_name="Ulysse").user


@pytest.fixture
def centre(db):
    return StructureFactory(name="Centre de gestion du Val", is_agricultural_centre=True)


@pytest.fixture
def accountant(farm, centre):
    """A management centre's user attached to the farm, its client."""
    user = UserFactory(first_name="Claire", last_name="Compta")
    MembershipFactory(user=user, structure=centre, role=Membership.Role.USER)
    MembershipFactory(user=user, structure=farm, role=Membership.Role.USER)
    return user


@pytest.fixture
def draft(farm, farmer):
    return RefundRequestFactory(structure=farm, year=2023, created_by=farmer, bank_account=farm.bank_accounts.get())
