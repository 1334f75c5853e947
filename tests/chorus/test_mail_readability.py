"""Every mail the portal sends reads well without HTML: each link written out in full, a named sender."""

import re
from email.utils import parseaddr
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from accounts import emails as account_emails
from accounts.models import AddressChange
from approvals import emails as approval_emails
from approvals.models import ApprovalRequest
from structures import emails as structure_emails
from structures.models import FieldChange, Membership
from tests.factories import (
    ApprovalRequestFactory,
    BankAccountFactory,
    MembershipFactory,
    PendingUserFactory,
    StructureFactory,
    UserFactory,
)

URL = re.compile(r"https?://\S+")


class Links(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.links, self._href, self._text = [], None, ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs)["href"], ""

    def handle_data(self, data):
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "a":
            self.links.append((self._href, self._text.strip()))
            self._href = None


def send_every_mail():
    """One mail of each kind, as the workflows send them."""
    manager = UserFactory(first_name="Jeanne", last_name="Martin")
    structure = StructureFactory(name="EARL Martin")
    MembershipFactory(user=manager, structure=structure, role=Membership.Role.MAIN_MANAGER)
    newcomer = PendingUserFactory(first_name="Paul")
    member = MembershipFactory(structure=structure, user__first_name="Luc")

    account_emails.account_summary(newcomer, structure, structure_created=False)
    account_emails.activation_link(newcomer)
    account_emails.signup_with_taken_address(manager)
    account_emails.password_reset(manager)
    account_emails.account_deactivated(manager)
    change = AddressChange.objects.create(user=manager, kind=AddressChange.Kind.LOGIN, new_address="j@nouveau.fr")
    account_emails.address_change_requested(change)
    account_emails.address_change_link(change)
    request = ApprovalRequestFactory(requester=newcomer, structure=structure, comment="Salarié")
    approval_emails.attachment_requested(request)
    request.state, request.decided_by, request.decided_at = ApprovalRequest.State.REFUSED, manager, timezone.now()
    request.reason = "Inconnu de l'exploitation"
    approval_emails.decision_made(request)
    bank_account = BankAccountFactory(structure=structure, created_by=manager)
    structure_emails.bank_details_changed(bank_account, ["created"], by=manager)
    structure_emails.structure_changed(structure, [FieldChange("Numéro PACAGE", "026123456", "974000001")], by=manager)
    structure_emails.membership_ended(member, by=manager)
    structure_emails.main_manager_changed(structure, new=member.user, previous=manager, by=manager)


@pytest.fixture
def every_mail(outbox, settings, private_media):
    settings.SITE_URL = "https://tic-ticgn.exemple.gouv.fr"
    send_every_mail()
    mails = outbox()
    kinds = {mail.subject for mail in mails}
    assert len(kinds) >= 11, kinds
    return mails


def test_every_mail_has_a_text_version_with_each_link_in_full(every_mail):
    for mail in every_mail:
        ((html, _),) = mail.alternatives
        links = Links(html).links
        for href, text in links:
            assert text == href, f"« {mail.subject} »: the link {href} reads « {text} »"
            assert href in URL.findall(mail.body), f"« {mail.subject} »: {href} missing from the text version"
        assert "<" not in mail.body, f"« {mail.subject} »: HTML in the text version"


def test_every_mail_names_its_sender(every_mail):
    for mail in every_mail:
        name, address = parseaddr(mail.from_email)
        assert name == "Chorus Pro TIC/TICGN" and address.startswith("ne-pas-repondre@"), mail.from_email


def test_every_html_mail_is_french_and_titled(every_mail):
    for mail in every_mail:
        ((html, _),) = mail.alternatives
        assert '<html lang="fr">' in html
        assert re.search(r"<title>\s*\S", html), mail.subject
