"""What a requester or a manager typed reaches the other's mail as their words: shortened, introduced, inert."""

import re

import pytest
from django.conf import settings
from django.urls import reverse

from approvals.models import ApprovalRequest
from tests.chorus.test_mail_readability import Links

REQUEST = reverse("approvals:request_attachment")
LURE = (
    "Bonjour, pour valider ma demande connectez-vous sur https://impots-gouv.remboursement-tic.fr/valider?id=1 "
    "ou sur www.chorus-pro-aide.fr, ou écrivez à aide@chorus-pro-aide.fr. "
)
LONG = (LURE + "Suite de mon message. " * 100)[:2000]
# What mail clients make clickable on their own: a scheme, « www. », a domain (a word, a full stop, a word).
LINKABLE = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|www\.|[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}")


def linkable(text: str, *allowed: str) -> list[str]:
    """The auto-linkable bits of a mail, leaving out the portal's own link and the addresses it shows on purpose."""
    for part in (settings.SITE_URL, *allowed):
        text = text.replace(part, "")
    return LINKABLE.findall(text)


def quoted(body: str) -> str:
    [words] = re.findall(r"^« (.*) »$", body, re.MULTILINE)
    return words


@pytest.fixture
def asked(client, requester, farm, manager, second_manager, outbox):
    """Romane asks to join the farm with a 2,000-character comment full of links; both managers are mailed."""
    client.force_login(requester)
    client.post(REQUEST, {"siret": farm.siret, "comment": LONG})
    return {mail.to[0]: mail for mail in outbox()}


def test_a_long_comment_with_links_reaches_every_manager_introduced_shortened_and_inert(
    asked, requester, manager, second_manager
):
    page = ApprovalRequest.objects.get().get_absolute_url()
    assert set(asked) == {manager.email, second_manager.notification_email}
    for mail in asked.values():
        ((html, _),) = mail.alternatives
        intro = "Message de Romane Demande (texte libre, non vérifié par le portail ; les adresses web y sont rendues"
        assert intro in mail.body and intro in html
        words = quoted(mail.body)
        assert words.startswith("Bonjour, pour valider ma demande connectez-vous sur https[:]//impots-gouv[.]")
        assert "www[.]chorus-pro-aide[.]fr" in words and "aide@chorus-pro-aide[.]fr" in words
        assert words.endswith(" …") and len(words.replace("[.]", ".").replace("[:]", ":")) <= 302
        assert linkable(mail.body, requester.email) == []
        assert linkable(html, requester.email) == []
        assert [href for href, _ in Links(html).links] == [f"{settings.SITE_URL}{page}"]


def test_the_comment_stays_whole_on_the_request_page(asked, client, manager):
    client.force_login(manager)

    response = client.get(ApprovalRequest.objects.get().get_absolute_url())

    assert LONG[-40:] in response.text
    assert 'href="https://impots-gouv' not in response.text


def test_a_name_made_of_an_address_is_inert_too(client, requester, farm, manager, outbox):
    requester.first_name, requester.last_name = "www.impots-gouv.fr", "https://aide.example"
    requester.save()
    client.force_login(requester)

    client.post(REQUEST, {"siret": farm.siret, "comment": "Salariée."})

    [mail] = outbox()
    assert "www[.]impots-gouv[.]fr https[:]//aide[.]example (romane@exemple.fr) demande à être rattaché(e)" in mail.body
    assert linkable(mail.body, requester.email) == []


def test_a_long_refusal_reason_with_links_reaches_the_requester_introduced_shortened_and_inert(
    client, manager, pending, requester, outbox
):
    client.force_login(manager)

    client.post(reverse("approvals:refuse", args=[pending.pk]), {"reason": LONG})

    [mail] = outbox()
    ((html, _),) = mail.alternatives
    intro = "Motif du refus écrit par Marie Gestion (texte libre, non vérifié par le portail"
    assert intro in mail.body and intro in html
    words = quoted(mail.body)
    assert words.startswith("Bonjour, pour valider ma demande connectez-vous sur https[:]//impots-gouv[.]")
    assert words.endswith(" …")
    assert linkable(mail.body) == [] and linkable(html) == []
    assert [href for href, _ in Links(html).links] == [f"{settings.SITE_URL}{reverse('approvals:my_memberships')}"]
