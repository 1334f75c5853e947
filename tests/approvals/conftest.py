import pytest

from structures.models import Membership
from tests.factories import ApprovalRequestFactory, MembershipFactory, StructureFactory, UserFactory


@pytest.fixture
def requester(db):
    return UserFactory(first_name="Romane", last_name="Demande", email="romane@exemple.fr")


@pytest.fixture
def pending(farm, requester):
    """Romane asks to be attached to the manager's farm."""
    return ApprovalRequestFactory(structure=farm, requester=requester, comment="Je suis salariée de l'EARL.")


@pytest.fixture
def elsewhere(other_manager, requester):
    """A request on another manager's structure."""
    return ApprovalRequestFactory(structure=other_manager.memberships.get().structure, requester=requester)


@pytest.fixture
def centre_user(db):
    """A user of an agricultural management centre, which files for the farms that delegated to it."""
    centre = StructureFactory(name="Centre de gestion du Bocage", is_agricultural_centre=True)
    return MembershipFactory(structure=centre, role=Membership.Role.USER, user__first_name="Claire").user
