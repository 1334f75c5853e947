"""Memento steps 1 and 2 in a real browser: « Créer un compte », then « Activer votre compte »."""

import random
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from approvals.models import ApprovalRequest
from structures.models import Membership, Structure
from tests.e2e.pages import ActivationPage, HomePage, MySpacePage, RecapPage, SignupPage, activation_link
from tests.factories import MembershipFactory, StructureFactory, make_siret

pytestmark = pytest.mark.browser

EMAIL = "jeanne.martin@exemple.fr"
COMMON_PASSWORD = "Azerty123456!"  # passes the length and classes rule, but « azerty » plus padding
STRONG_PASSWORD = "Tracteur-Bleu-Colza-2031"


def test_a_new_farmer_signs_up_creates_her_structure_and_activates_her_account(page, site, mailoutbox, screenshots):
    siret = make_siret(random.Random(2031))  # the same SIRET in the screenshots, run after run

    # Step 1: « Créer un compte ».
    signup = HomePage(page).open(site.url).start_signup()
    signup.fill(
        email=EMAIL,
        first_name="Jeanne",
        last_name="Martin",
        phone="06 12 34 56 78",
        contact_email="compta@earl-martin.fr",
        siret=siret,
    )
    signup.answer_captcha()
    signup.screenshot(screenshots / "signup.png")
    signup.submit()

    recap = RecapPage(page).wait()
    expect(page).to_have_title(re.compile(r"^Récapitulatif de votre inscription"))
    expect(recap.content).to_contain_text("Vous disposez de 60 minutes pour activer votre compte.")
    expect(recap.callout("Votre structure sera créée à l'activation de votre compte")).to_be_visible()
    expect(recap.content).to_contain_text(siret)
    expect(recap.content).to_contain_text("06 12 34 56 78")
    recap.screenshot(screenshots / "recap.png")

    # The activation link to the login address; the structure waits for activation.
    link = activation_link(mailoutbox, EMAIL, origin=site.url)
    assert [message.to for message in mailoutbox] == [[EMAIL]]
    assert not Structure.objects.exists()

    # Step 2: the link's token leaves the address bar before anything is shown.
    page.goto(link)
    activation = ActivationPage(page).wait()
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert token not in page.url
    expect(page).to_have_url(re.compile(r"/compte/activer/[^/]+/mot-de-passe/$"))

    # The meter follows the typing, rule by rule.
    expect(activation.meter).to_be_visible()
    expect(activation.level).to_have_text("très faible")
    for rule in ("length", "upper", "lower", "digit", "special"):
        expect(activation.rule(rule)).to_have_attribute("data-met", "false")
    activation.type_password("azerty")
    expect(activation.level).to_have_text("faible")
    expect(activation.rule("lower")).to_have_attribute("data-met", "true")
    expect(activation.rule("digit")).to_have_attribute("data-met", "false")
    activation.type_password("12")
    # Long enough and of two kinds, but « azerty » padded: too common, so still « faible ».
    expect(activation.level).to_have_text("faible")
    expect(activation.rule("common")).to_have_attribute("data-met", "false")
    expect(activation.rule("digit")).to_have_attribute("data-met", "true")
    expect(activation.rule("upper")).to_have_attribute("data-met", "false")
    expect(activation.rule("length")).to_have_attribute("data-met", "false")
    activation.screenshot(screenshots / "activation.png")

    # One common word padded to pass the rule: the meter says « trop courant », as the server does.
    activation.password.fill("")
    activation.type_password(COMMON_PASSWORD)
    expect(activation.level).to_have_text("faible")
    expect(activation.rule("common")).to_have_attribute("data-met", "false")
    expect(page.get_by_text("Trop courant : un mot connu suivi de chiffres")).to_be_visible()
    activation.submit(COMMON_PASSWORD)
    activation.expect_error()
    expect(activation.error_summary).to_contain_text("trop courant")
    expect(page).to_have_url(re.compile(r"/mot-de-passe/$"))
    assert not User.objects.get(email=EMAIL).is_active

    activation.submit(STRONG_PASSWORD)
    home = MySpacePage(page).wait("Jeanne")
    expect(page.get_by_role("status")).to_contain_text("Votre compte est activé")
    expect(home.checklist).to_be_visible()
    expect(home.step(1)).to_contain_text("Fait")
    expect(home.step(2)).to_contain_text("Fait")
    expect(home.step(5)).to_contain_text("Aucune demande de rattachement n'attend votre décision")

    user = User.objects.get(email=EMAIL)
    assert user.is_active
    assert user.check_password(STRONG_PASSWORD)
    structure = Structure.objects.get(siret=siret)
    assert Membership.objects.get(user=user, structure=structure).role == Membership.Role.MAIN_MANAGER
    summary = mailoutbox[-1]
    assert summary.to == [EMAIL] and "vous en êtes le gestionnaire principal" in summary.body


def test_signing_up_with_a_known_siret_asks_the_structures_manager_once_the_account_is_activated(
    page, site, mailoutbox
):
    structure = StructureFactory()
    manager = MembershipFactory(structure=structure, role=Membership.Role.MAIN_MANAGER).user

    signup = SignupPage(page).open(site.url)
    signup.fill(email=EMAIL, first_name="Jeanne", last_name="Martin", siret=structure.siret)
    signup.answer_captcha().submit()

    recap = RecapPage(page).wait()
    sent_on = recap.callout("Une demande de rattachement sera transmise aux gestionnaires de la structure")
    expect(sent_on).to_be_visible()
    expect(recap.content).to_contain_text("Dès l'activation de votre compte")
    expect(recap.callout("Votre structure sera créée à l'activation de votre compte")).to_have_count(0)
    page.goto(activation_link(mailoutbox, EMAIL, origin=site.url))
    assert not ApprovalRequest.objects.exists()
    assert not any(message.to == [manager.email] for message in mailoutbox)

    ActivationPage(page).wait().submit(STRONG_PASSWORD)
    MySpacePage(page).wait("Jeanne")

    request = ApprovalRequest.objects.get(structure=structure)
    assert request.requester.email == EMAIL
    assert not Membership.objects.filter(user=request.requester).exists()
    assert any(message.to == [manager.email] and structure.siret in message.subject for message in mailoutbox)
