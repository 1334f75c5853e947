"""A support agent in the admin, in a real browser: the « À traiter » panel, then the caller's account."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from approvals.models import ApprovalRequest
from tests.e2e.catalogue import build_farm
from tests.e2e.pages import LoginPage
from tests.factories import PASSWORD, ApprovalRequestFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def agent(support_group):
    agent = UserFactory(email="denise.support@exemple.fr", first_name="Denise", is_staff=True)
    agent.groups.add(support_group)
    TOTPDevice.objects.create(user=agent, name="Téléphone", confirmed=True)  # the admin asks for an application
    return agent


def test_the_agent_sees_what_waits_and_opens_the_callers_account(page, site, agent, private_media, screenshots):
    farm = build_farm()
    ApprovalRequest.objects.filter(pk=farm.pending.pk).update(created_at=timezone.now() - timedelta(days=9))
    StructureFactory(name="GAEC sans gestionnaire")
    ApprovalRequestFactory(structure=StructureFactory(name="SCEA du Moulin"))

    LoginPage(page).sign_in(site.url, agent.email, PASSWORD, next_path="/administration/")

    waiting = page.get_by_role("table", name="À traiter")
    expect(waiting.get_by_role("row").filter(has_text="plus de 7 jours")).to_contain_text("1")
    expect(waiting).to_contain_text("il y a 9 jours : paul.salarie@exemple.fr → EARL Martin")
    page.screenshot(path=screenshots / "admin-dashboard.png", full_page=True, caret="initial")

    # The caller gives the farm's SIRET: the agent finds the account, its requests and their age.
    page.goto(site.url + "/administration/accounts/user/")
    page.get_by_role("searchbox").fill(farm.structure.siret)
    page.keyboard.press("Enter")
    expect(page.get_by_role("row").filter(has_text=farm.manager.email)).to_be_visible()
    page.goto(site.url + f"/administration/accounts/user/?q={farm.newcomer.email}")
    page.get_by_role("link", name=farm.newcomer.email).click()
    expect(page.get_by_text("il y a 9 jours")).to_be_visible()
    expect(page.get_by_text("Activez votre compte", exact=False)).to_have_count(0)
