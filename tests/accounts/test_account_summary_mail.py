"""The activation summary lists the steps of the reader's case (PRODUCT §7): a structure's creator, or a requester."""

import pytest

from accounts import emails
from tests.factories import PendingUserFactory, StructureFactory


@pytest.fixture
def newcomer(db):
    return PendingUserFactory(first_name="Jeanne", last_name="Martin", is_active=True)


def summary(outbox, user, structure, *, structure_created):
    emails.account_summary(user, structure, structure_created=structure_created)
    [mail] = outbox()
    return mail, mail.alternatives[0][0]


def test_the_creator_reads_the_managers_steps_numbered_as_on_the_home(outbox, newcomer):
    structure = StructureFactory(name="EARL Martin")

    mail, html = summary(outbox, newcomer, structure, structure_created=True)

    assert mail.to == [newcomer.email] and mail.subject == "Votre compte Chorus Pro TIC/TICGN est activé"
    assert "vous en êtes le gestionnaire principal" in mail.body
    assert "3. Enregistrer les coordonnées bancaires de la structure et télécharger son RIB" in mail.body
    assert "4. Renseigner la catégorie de bénéficiaire et le numéro PACAGE" in mail.body
    assert "5. Valider les demandes de rattachement des autres utilisateurs" in mail.body
    assert '<ol start="3">' in html and "télécharger son RIB" in html
    assert "examinent votre demande" not in mail.body


def test_the_requester_reads_that_the_managers_decide_and_no_managers_step(outbox, newcomer):
    structure = StructureFactory(name="EARL Martin")

    mail, html = summary(outbox, newcomer, structure, structure_created=False)

    assert "votre demande de rattachement a été transmise à ses gestionnaires" in mail.body
    assert "1. Les gestionnaires de la structure examinent votre demande de rattachement" in mail.body
    assert "ou de refus avec son motif" in mail.body and "ou de refus avec son motif" in html
    for managers_step in ["télécharger son RIB", "Valider les demandes", "gestionnaire principal de la structure"]:
        assert managers_step not in mail.body and managers_step not in html
