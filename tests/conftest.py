import time

import pytest
from captcha.models import CaptchaStore
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage
from django.db import connection
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY

from chorus import reauth
from chorus.mail import deliver_queued
from refunds.models import PaymentBatch, RefundLine
from structures.models import BankAccount, Membership
from tests import factories
from tests.factories import MembershipFactory, StructureFactory, UserFactory, make_siret
from tests.signing_in import second_factor_device


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttling counters and axes live in the cache: start each test clean.

    So does Django's content-type cache: a live-server test empties the database when it
    ends and the types come back under new ids, which a later test of the same
    pytest-xdist worker must not read from the cache.
    """
    cache.clear()
    ContentType.objects.clear_cache()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _force_login_passes_both_factors(monkeypatch):
    """`Client.force_login` skips the password step; here it skips the second factor too, as if passed.

    The two steps of sign-in are tested on their own (tests/twofactor/), through the pages.
    """
    force_login = Client.force_login

    def both_factors(self, user, backend=None):
        force_login(self, user, backend)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = second_factor_device(user).persistent_id
        session.save()

    monkeypatch.setattr(Client, "force_login", both_factors)


@pytest.fixture
def outbox(db, mailoutbox):
    """Runs the mail worker once, then returns every mail sent so far.

    Mail is queued in the step's transaction; the tests' transaction never
    commits, so this plays the worker's part.
    """

    def read():
        deliver_queued()
        return list(mail.outbox)

    return read


@pytest.fixture
def captcha(db):
    """A fresh captcha challenge and its right answer, as the form posts them."""

    def make():
        key = CaptchaStore.generate_key()
        return {"captcha_0": key, "captcha_1": CaptchaStore.objects.get(hashkey=key).response}

    return make


@pytest.fixture
def signup_data(captcha):
    def make(**overrides):
        email = overrides.pop("email", "jeanne.martin@exemple.fr")
        data = {
            "email": email,
            "email_confirmation": email,
            "first_name": "Jeanne",
            "last_name": "Martin",
            "phone": "06 12 34 56 78",
            "contact_email": "",
            "accept_terms": "on",
            "identifier_type": "siret",
            "identifier": make_siret(),
            **captcha(),
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}

    return make


@pytest.fixture
def member(db):
    return UserFactory(first_name="Paul", last_name="Membre")


@pytest.fixture
def manager(db):
    user = UserFactory(first_name="Marie", last_name="Gestion")
    MembershipFactory(user=user, structure=StructureFactory(), role=Membership.Role.MAIN_MANAGER)
    return user


@pytest.fixture
def outsider(db):
    return UserFactory(first_name="Olivier", last_name="Dehors")


@pytest.fixture
def staff(db):
    return UserFactory(first_name="Sam", last_name="Support", is_staff=True)


@pytest.fixture
def support_group(db) -> Group:
    return factories.support_group()


@pytest.fixture
def agent_account(support_group):
    """A support agent: staff, in the « Support » group."""
    agent = UserFactory(email="agent@exemple.fr", first_name="Denise", last_name="Support", is_staff=True)
    agent.groups.add(support_group)
    return agent


@pytest.fixture
def agent(agent_account):
    """The support agent's browser, signed in to the admin."""
    client = Client()
    client.force_login(agent_account)
    return client


@pytest.fixture
def postgresql_only(transactional_db):
    """For the tests of what only PostgreSQL does: row locks (the races), COPY. CI runs the suite on it too."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, COPY): run with DATABASE_URL=postgres://… (CI does)")


@pytest.fixture
def private_media(settings, tmp_path, monkeypatch):
    """RIB and invoice files land in a throw-away folder.

    The field resolved its storage when the model loaded, so it is swapped
    on the field itself.
    """
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr(BankAccount._meta.get_field("rib"), "storage", FileSystemStorage(location=tmp_path / "rib"))
    monkeypatch.setattr(
        RefundLine._meta.get_field("invoice"), "storage", FileSystemStorage(location=tmp_path / "invoices")
    )
    monkeypatch.setattr(
        PaymentBatch._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path / "payments")
    )


@pytest.fixture
def farm(manager):
    return manager.memberships.get().structure


@pytest.fixture
def attached(farm):
    """A simple user of the farm (« Utilisateur »)."""
    return MembershipFactory(structure=farm, role=Membership.Role.USER, user__first_name="Ulysse").user


@pytest.fixture
def second_manager(farm):
    return MembershipFactory(
        structure=farm, role=Membership.Role.MANAGER, user__first_name="Gaston", user__contact_email="gaston@contact.fr"
    ).user


@pytest.fixture
def other_manager(db):
    """The main manager of another structure."""
    user = UserFactory(first_name="Bertrand")
    MembershipFactory(user=user, structure=StructureFactory(), role=Membership.Role.MAIN_MANAGER)
    return user


@pytest.fixture
def sign_in(db):
    """A browser of the user's own, signed in; `fresh=True` also counts as having just typed the password."""

    def sign_in(user, fresh: bool = True):
        client = Client()
        client.force_login(user)
        if fresh:
            session = client.session
            session[reauth.SESSION_KEY] = int(time.time())
            session.save()
        return client

    return sign_in
