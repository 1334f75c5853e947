import pytest

from structures.models import Membership
from tests.factories import (
    BankAccountFactory,
    FarmFactory,
    MembershipFactory,
    make_instructor,
    make_sent_request,
    refund_reference_data,
)


@pytest.fixture(autouse=True)
def _reference_data(db, private_media):
    """The shipped products, rates and campaigns; invoices, RIBs and SEPA files in a throw-away folder."""
    refund_reference_data()


@pytest.fixture
def farm(db):
    """A farm of Ille-et-Vilaine (35000), with its default bank account."""
    structure = FarmFactory(name="EARL des Peupliers", pacage="035000123", postal_code="35000")
    BankAccountFactory(structure=structure, label="Compte courant", iban="FR7630006000011234567890189")
    return structure


@pytest.fixture
def farmer(farm):
    """The farm's main manager, who filed its request."""
    return MembershipFactory(
        structure=farm, role=Membership.Role.MAIN_MANAGER, user__first_name="Marie", user__last_name="Champ"
    ).user


@pytest.fixture
def instructor(db):
    """Irène, of the tax office that instructs Ille-et-Vilaine (35) and Morbihan (56)."""
    return make_instructor("35", "56", first_name="Irène", last_name="Durand", email="irene.durand@dgfip.test")


@pytest.fixture
def colleague(db):
    """Another instructor of Ille-et-Vilaine."""
    return make_instructor("35", first_name="Paul", last_name="Martin", email="paul.martin@dgfip.test")


@pytest.fixture
def other_instructor(db):
    """An instructor of the Drôme (26) only."""
    return make_instructor("26", first_name="Odile", last_name="Rey", email="odile.rey@dgfip.test")


@pytest.fixture
def filed(farm, farmer):
    """The farm's 2023 request, sent: « Déposée », two lines of 149,60 €."""
    return make_sent_request(farm, filed_by=farmer)
