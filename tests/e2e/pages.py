"""Page objects: what a user sees and does on each screen, in the screen's own French words."""

import re
import time
from urllib.parse import urlsplit

from captcha.models import CaptchaStore
from django.core import mail
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from twofactor.devices import default_device

ACTIVATION_LINK = re.compile(r"https?://[^\s/]+/compte/activer/[^/\s]+/[^/\s]+/")
SIGN_IN_CODE = re.compile(r"Votre code de connexion : (\d{6})")


def activation_link(mails, address: str, origin: str, timeout: float = 10) -> str:
    """The link of the last activation mail sent to `address`, on the server at `origin`.

    Sign-up mails once its answer has left (`chorus.mail.after_response`): the
    page may show before the mail is stored, so it is awaited a little.
    """
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(mails):
            if address in message.to and (match := ACTIVATION_LINK.search(message.body)):
                return origin.rstrip("/") + urlsplit(match.group(0)).path
        if time.monotonic() > deadline:
            raise AssertionError(f"No activation link mailed to {address}; mails sent: {[m.subject for m in mails]}")
        time.sleep(0.05)


def sign_in_code(address: str, timeout: float = 10) -> str:
    """The code of the newest « Votre code de connexion » mail sent to `address` (a newer code voids the older)."""
    deadline = time.monotonic() + timeout
    while True:
        for message in reversed(mail.outbox):
            if address in message.to and (match := SIGN_IN_CODE.search(message.body)):
                return match.group(1)
        if time.monotonic() > deadline:
            raise AssertionError(f"No sign-in code mailed to {address}")
        time.sleep(0.05)


def application_code(device: TOTPDevice) -> str:
    """What the user's authenticator application shows now (or next, if this step's code was just used)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = max(time.time(), (device.last_t + 1) * device.step + device.t0)
    return f"{totp.token():0{device.digits}d}"


class PortalPage:
    """What every screen shares: the title, the error summary."""

    def __init__(self, page: Page):
        self.page = page

    @property
    def error_summary(self) -> Locator:
        return self.page.get_by_role("alert").and_(self.page.locator("[data-error-summary]"))

    def expect_error(self) -> None:
        expect(self.page).to_have_title(re.compile(r"^Erreur – "))
        expect(self.error_summary).to_be_visible()

    def focused_element_is_error_summary(self) -> bool:
        return self.page.evaluate("document.activeElement.hasAttribute('data-error-summary')")

    def tick(self, checkbox: Locator, checked: bool = True) -> None:
        """The DSFR draws the box on the label, over the real input: click the box, as a user does."""
        label = self.page.locator(f"label[for='{checkbox.get_attribute('id')}']")
        label.click(position={"x": 12, "y": 12})
        expect(checkbox).to_be_checked(checked=checked)

    def screenshot(self, path) -> None:
        # caret="hide" would write a style attribute into the inputs, which the portal's CSP refuses.
        self.page.screenshot(path=path, full_page=True, animations="disabled", caret="initial")


class HomePage(PortalPage):
    def open(self, base_url: str) -> "HomePage":
        self.page.goto(f"{base_url}/")
        return self

    def start_signup(self) -> "SignupPage":
        self.page.get_by_role("main").get_by_role("link", name="Créer un compte").click()
        return SignupPage(self.page).wait()


class SignupPage(PortalPage):
    """« Créer un compte » (memento, step 1)."""

    path = "/compte/inscription/"

    def open(self, base_url: str) -> "SignupPage":
        self.page.goto(base_url + self.path)
        return self.wait()

    def wait(self) -> "SignupPage":
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Créer un compte")
        return self

    def field(self, label: str) -> Locator:
        """The field whose label starts with these words (then its red asterisk or its hint, if any).

        « Nom » does not find « Prénom », nor the login address its confirmation.
        """
        return self.page.get_by_label(re.compile(rf"^\s*{re.escape(label)}(?:[\s*]|$)"))

    @property
    def email(self) -> Locator:
        return self.field("Adresse électronique de connexion")

    @property
    def email_confirmation(self) -> Locator:
        return self.field("Ressaisissez votre adresse électronique de connexion")

    @property
    def first_name(self) -> Locator:
        return self.field("Prénom")

    @property
    def last_name(self) -> Locator:
        return self.field("Nom")

    @property
    def phone(self) -> Locator:
        return self.field("Téléphone")

    @property
    def contact_email(self) -> Locator:
        return self.field("E-mail du contact")

    @property
    def identifier_type(self) -> Locator:
        return self.field("Type d'identifiant")

    @property
    def identifier(self) -> Locator:
        return self.field("Identifiant")

    @property
    def accept_terms(self) -> Locator:
        return self.field("J'accepte les conditions")

    @property
    def captcha_input(self) -> Locator:
        return self.field("Reproduisez la suite de caractères")

    @property
    def captcha_key(self) -> Locator:
        return self.page.locator("input[type=hidden][name='captcha_0']")

    @property
    def captcha_image(self) -> Locator:
        return self.page.get_by_role("img", name=re.compile(r"^Image de sécurité"))

    @property
    def captcha_audio(self) -> Locator:
        return self.page.locator("audio[data-captcha-audio]")

    @property
    def new_image_button(self) -> Locator:
        return self.page.get_by_role("button", name="Nouvelle image")

    def fill(
        self,
        *,
        email: str,
        first_name: str,
        last_name: str,
        siret: str,
        phone: str = "",
        contact_email: str = "",
    ) -> "SignupPage":
        self.email.fill(email)
        self.email_confirmation.fill(email)
        self.first_name.fill(first_name)
        self.last_name.fill(last_name)
        self.phone.fill(phone)
        self.contact_email.fill(contact_email)
        self.tick(self.accept_terms)
        self.identifier_type.select_option(label="SIRET")
        self.identifier.fill(siret)
        return self

    def answer_captcha(self) -> "SignupPage":
        """Types the answer stored for the challenge on screen, in capitals as the image shows it."""
        key = self.captcha_key.input_value()
        self.captcha_input.fill(CaptchaStore.objects.get(hashkey=key).response.upper())
        return self

    def submit(self) -> None:
        self.page.get_by_role("button", name="Créer mon compte").click()


class RecapPage(PortalPage):
    """« Récapitulatif de votre inscription »."""

    def wait(self) -> "RecapPage":
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Récapitulatif de votre inscription")
        return self

    @property
    def content(self) -> Locator:
        return self.page.get_by_role("main")

    def callout(self, title: str) -> Locator:
        return self.page.get_by_role("heading", name=title)


class ActivationPage(PortalPage):
    """« Activer votre compte » (memento, step 2)."""

    def wait(self) -> "ActivationPage":
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Activer votre compte")
        return self

    @property
    def password(self) -> Locator:
        return self.page.get_by_label("Entrez le mot de passe :")

    @property
    def confirmation(self) -> Locator:
        return self.page.get_by_label("Confirmez le mot de passe :")

    @property
    def meter(self) -> Locator:
        return self.page.locator("[data-password-meter-output]")

    @property
    def level(self) -> Locator:
        return self.meter.get_by_text("Niveau de sécurité du mot de passe").locator("strong")

    def rule(self, name: str) -> Locator:
        """One rule of the list: length, upper, lower, digit or special."""
        return self.meter.get_by_role("list", name="Règles du mot de passe").locator(f"[data-rule='{name}']")

    def type_password(self, text: str) -> "ActivationPage":
        self.password.press_sequentially(text)
        return self

    def submit(self, password: str, confirmation: str | None = None) -> None:
        self.password.fill(password)
        self.confirmation.fill(password if confirmation is None else confirmation)
        self.page.get_by_role("button", name="SOUMETTRE").click()


class MySpacePage(PortalPage):
    """The home page once signed in: « Bonjour … » and the memento's checklist."""

    def wait(self, first_name: str) -> "MySpacePage":
        expect(self.page.get_by_role("heading", level=1)).to_have_text(f"Bonjour {first_name}")
        return self

    @property
    def checklist(self) -> Locator:
        return self.page.get_by_role("region", name="Votre inscription pas à pas")

    def step(self, number: int) -> Locator:
        """The step the browser numbers `number` (its list item's value; the text does not repeat it)."""
        return self.checklist.locator(f"li[value='{number}']")


def sign_out(page: Page) -> None:
    """« Se déconnecter », then the home page saying so: the next page must not race the sign-out's POST."""
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté")


def labelled(page: Page, label: str) -> Locator:
    """The field whose label starts with these words (then its red asterisk or its hint, if any)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}(?:[\s*]|$)"))


class LoginPage(PortalPage):
    path = "/compte/connexion/"

    def sign_in(self, base_url: str, email: str, password: str, next_path: str = "") -> None:
        """Both steps: the password, then the code of the account's default device (mailed, or its application's)."""
        self.page.goto(base_url + self.path + (f"?next={next_path}" if next_path else ""))
        labelled(self.page, "Adresse électronique de connexion").fill(email)
        labelled(self.page, "Mot de passe").fill(password)
        self.page.get_by_role("main").get_by_role("button", name="Se connecter").click()
        SecondFactorPage(self.page).pass_with_default_device(email)


class SecondFactorPage(PortalPage):
    """« Double authentification »: the code of a device, after a right password."""

    def wait(self) -> "SecondFactorPage":
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Double authentification")
        return self

    def enter(self, code: str, trust: bool = False) -> None:
        labelled(self.page, "Code de vérification").fill(code)
        if trust:
            self.tick(self.page.get_by_label("Faire confiance à cet appareil pendant 30 jours"))
        self.page.get_by_role("main").get_by_role("button", name="Valider").click()

    def pass_with_default_device(self, email: str) -> None:
        self.wait()
        device = default_device(User.objects.get(email=email))
        self.enter(application_code(device) if isinstance(device, TOTPDevice) else sign_in_code(email))


class StructuresPage(PortalPage):
    """« Organisation » → « Structures »: the applications, then my structures."""

    def open_from_home(self) -> "StructuresPage":
        self.page.get_by_role("link", name="Organisation", exact=True).first.click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Organisation")
        self.page.get_by_role("main").get_by_role("link", name="Structures").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Structures")
        return self

    def application(self, name: str) -> None:
        self.page.get_by_role("main").get_by_role("link", name=name).click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text(name)


class FormPage(PortalPage):
    def field(self, label: str, exact: bool = False) -> Locator:
        """`exact`: the label and its asterisk only, so « Adresse » is not « Adresse électronique »."""
        if exact:
            return self.page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))
        return labelled(self.page, label)

    def submit(self) -> None:
        self.page.get_by_role("main").get_by_role("button", name="Soumettre").click()


class BankAccountPage(FormPage):
    """« Créer une coordonnée bancaire » (memento, step 3)."""

    def fill(self, *, label: str, iban: str, rib: dict, bic: str | None = None) -> None:
        """Without `bic`, the BIC is left for the page to propose from the IBAN."""
        self.field("Nom de la coordonnée bancaire").fill(label)
        self.field("IBAN").fill(iban)
        self.field("IBAN").press("Tab")
        if bic is not None:
            self.field("BIC").fill(bic)
        self.field("RIB").set_input_files(rib)

    @property
    def bic_status(self) -> Locator:
        return self.page.locator("[data-bic-status]")


class ConfirmIdentityPage(PortalPage):
    """« Confirmez votre identité », before bank details, structure edits and the handover: the password, then the
    second factor's code."""

    def confirm(self, email: str, password: str) -> None:
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Confirmez votre identité")
        labelled(self.page, "Votre mot de passe").fill(password)
        self.page.get_by_role("main").get_by_role("button", name="Continuer").click()
        expect(self.page.get_by_role("main")).to_contain_text("Étape 2 sur 2")
        device = default_device(User.objects.get(email=email))
        code = application_code(device) if isinstance(device, TOTPDevice) else sign_in_code(email)
        labelled(self.page, "Code de vérification").fill(code)
        self.page.get_by_role("main").get_by_role("button", name="Confirmer").click()


class StructurePage(FormPage):
    """« Gérer une structure » → « Modifier une structure » (memento, step 4)."""

    def choose(self, request_type: str, identifier: str, identity: tuple[str, str] | None = None) -> None:
        """`identity`: (e-mail, password), confirmed when the portal asks for it again (not in the last minutes)."""
        self.field("Type de demande").select_option(label=request_type)
        self.field("Identifiant").select_option(label=identifier)
        self.page.get_by_role("button", name="Continuer").click()
        if identity is not None:
            ConfirmIdentityPage(self.page).confirm(*identity)
        expect(self.page.get_by_role("heading", level=2, name=re.compile("^Modifier une structure"))).to_be_visible()

    @property
    def confirmation(self) -> Locator:
        return self.page.get_by_role("status").filter(has_text="Les modifications de la structure sont enregistrées.")


class ApprovalsPage(PortalPage):
    """« Approbations » (memento, step 5): the pending requests of my structures."""

    @property
    def menu_link(self) -> Locator:
        return self.page.get_by_role("navigation", name="Menu principal").get_by_role(
            "link", name=re.compile(r"^Approbations")
        )

    def open_from_menu(self) -> "ApprovalsPage":
        self.menu_link.click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Approbations")
        return self

    def row(self, requester_email: str) -> Locator:
        return self.page.get_by_role("row").filter(has_text=requester_email)

    def open_request(self, requester_email: str) -> "ApprovalPage":
        self.row(requester_email).get_by_role("link", name="Demande de rattachement").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Demande de rattachement")
        return ApprovalPage(self.page)


class ApprovalPage(FormPage):
    """One request: « Approuver », or « Refuser » with its reason."""

    def approve(self) -> None:
        self.page.get_by_role("button", name="Approuver").click()

    def refuse(self, reason: str) -> None:
        self.page.get_by_role("link", name="Refuser").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Refuser la demande")
        self.field("Motif du refus").fill(reason)
        self.page.get_by_role("main").get_by_role("button", name="Refuser").click()


class MyAttachmentsPage(FormPage):
    """« Organisation » → « Mes rattachements », and « Demander un rattachement »."""

    def open_from_home(self) -> "MyAttachmentsPage":
        self.page.get_by_role("link", name="Organisation", exact=True).first.click()
        self.page.get_by_role("main").get_by_role("link", name="Mes rattachements").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Mes rattachements")
        return self

    def ask(self, siret: str, comment: str) -> None:
        self.page.get_by_role("main").get_by_role("link", name="Demander un rattachement").click()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Demander un rattachement")
        self.field("SIRET de la structure").fill(siret)
        self.field("Commentaire").fill(comment)
        self.submit()
        expect(self.page.get_by_role("heading", level=1)).to_have_text("Mes rattachements")

    def request_row(self, siret: str) -> Locator:
        return self.page.get_by_role("table").last.get_by_role("row").filter(has_text=siret)


AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


def assert_accessible(page: Page) -> None:
    """axe-core, as the RGAA audits use it: every WCAG 2.1 A and AA rule, no violation allowed."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("load")  # axe needs a document: not one being replaced by a navigation
    violations = Axe().run(page, options=AXE_RULES).response["violations"]
    report = [
        f"{violation['id']} ({violation['impact']}): {violation['help']}\n"
        + "\n".join(f"    {node['target']} {node['failureSummary'].splitlines()[-1]}" for node in nodes[:5])
        for violation in violations
        for nodes in [violation["nodes"]]
    ]
    assert not violations, f"axe on {page.url}:\n" + "\n".join(report)


def assert_errors_announced(page: Page) -> None:
    """The error state as RGAA asks: a focused summary linking to each field, each field naming its error."""
    summary = page.locator("[data-error-summary]")
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    fields = page.locator("main [aria-invalid=true]").all()
    assert fields, f"{page.url}: no field is marked aria-invalid"
    for field in fields:
        field_id = field.get_attribute("id")
        if field.get_attribute("type") == "radio":
            # A group of radios is described by its fieldset; the summary links to the first one.
            fieldset = field.locator("xpath=ancestor::fieldset[@aria-labelledby][1]")
            field_id = fieldset.locator("input[type=radio]").first.get_attribute("id")
            references = fieldset.get_attribute("aria-labelledby").split()
        else:
            references = (field.get_attribute("aria-describedby") or "").split()
        described = " ".join(page.locator(f"[id='{reference}']").inner_text() for reference in references)
        error = page.locator(f"[id='{references[-1]}']") if references else None
        assert error is not None and error.locator("li").count(), f"{page.url}: #{field_id} does not name its error"
        hint = page.locator(f"label[for='{field_id}'] .fr-hint-text")
        if hint.count():
            assert hint.inner_text() in described, f"{page.url}: #{field_id} no longer announces its hint"
        assert summary.locator(f"a[href='#{field_id}']").count(), f"{page.url}: the summary has no link to #{field_id}"
