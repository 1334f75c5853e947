"""What a loaded SIRENE directory changes for the farmer, the manager, support and the instructor: the SIRET checked
at sign-up and at « Créer une structure », the name and address filled in, the comparison page, the marks."""

import re
from html import unescape

import pytest
from django.urls import reverse

from accounts.models import User
from refunds.models import RefundFlag
from sirene.models import Stock
from structures.models import Membership, SireneState, Structure
from tests.accounts.test_activation import activate, activation_path
from tests.factories import FarmFactory, MembershipFactory, StructureFactory, make_sent_request
from tests.sirene.conftest import CLOSED, LISTED, PARTIAL, SOLE_TRADER, STOCK_DATE, UNLISTED, load_sample

SIGNUP = reverse("accounts:signup")
RECAP = reverse("accounts:signup_done")
CREATE = reverse("approvals:structure_create")


def text(response) -> str:
    """The page's words, tags dropped."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def sign_up_and_activate(client, signup_data, outbox, siret):
    """The recap page's text, and the structure activation created."""
    response = client.post(SIGNUP, signup_data(identifier=siret))
    assert response.status_code == 302, response.context["form"].errors
    recap = text(client.get(RECAP))
    mail = next(m for m in outbox() if "Activez" in m.subject)
    activate(client, activation_path(mail))
    return recap, Structure.objects.get(siret=siret)


def test_an_open_siret_fills_in_the_name_the_address_and_the_vat_number(client, signup_data, outbox, directory):
    recap, structure = sign_up_and_activate(client, signup_data, outbox, LISTED)

    assert "Libellé de la structure EARL DU PLATEAU" in recap
    assert "Adresse 12 BIS ROUTE DE LA FORET 26400 CREST" in recap
    assert "Numéro TVA intracommunautaire FR44732829320" in recap
    assert "répertoire SIRENE (stock du 01/11/2026)" in recap
    assert (structure.name, structure.address, structure.postal_code, structure.city) == (
        "EARL DU PLATEAU",
        "12 BIS ROUTE DE LA FORET",
        "26400",
        "CREST",
    )
    assert structure.vat_number == "FR44732829320" and structure.country == "FR"
    assert structure.sirene_state == SireneState.LISTED and structure.sirene_stock_date == STOCK_DATE
    assert structure.memberships.get().role == Membership.Role.MAIN_MANAGER


def test_a_sole_trader_is_named_by_first_name_and_name(client, signup_data, outbox, directory):
    recap, structure = sign_up_and_activate(client, signup_data, outbox, SOLE_TRADER)

    assert structure.name == "Jeanne MARTIN" and "Libellé de la structure Jeanne MARTIN" in recap


def test_a_closed_establishment_is_refused_next_to_the_siret(client, signup_data, outbox, directory):
    response = client.post(SIGNUP, signup_data(identifier=CLOSED))

    assert response.status_code == 200
    assert response.context["form"].errors["identifier"] == [
        "Cet établissement est fermé selon le répertoire SIRENE (stock du 01/11/2026)."
    ]
    assert not User.objects.exists() and not outbox()


def test_an_unknown_siret_is_accepted_and_the_structure_marked_absent(client, signup_data, outbox, directory):
    recap, structure = sign_up_and_activate(client, signup_data, outbox, UNLISTED)

    assert "Absent du répertoire SIRENE au 01/11/2026" in recap
    assert structure.name == "" and structure.sirene_state == SireneState.UNLISTED
    assert structure.sirene_mark == "Absent du répertoire SIRENE au 01/11/2026"
    page = text(client.get(structure.get_absolute_url()))
    assert "Absent du répertoire SIRENE au 01/11/2026. Vérifiez le SIRET" in page


def test_create_a_structure_with_an_unknown_siret_says_to_check_it(sign_in, member, directory):
    response = sign_in(member).post(CREATE, {"siret": UNLISTED}, follow=True)

    assert "Ce SIRET est absent du répertoire SIRENE au 01/11/2026. Vérifiez qu'il est juste" in text(response)
    assert Structure.objects.get(siret=UNLISTED).sirene_state == SireneState.UNLISTED


def test_without_a_directory_sign_up_is_as_before(client, signup_data, outbox, db):
    recap, structure = sign_up_and_activate(client, signup_data, outbox, CLOSED)

    assert "répertoire SIRENE" not in recap
    assert structure.name == "" and structure.sirene_state == "" and not structure.address_restricted


def test_a_partly_public_address_is_not_shown_at_sign_up(client, signup_data, outbox, directory):
    recap, structure = sign_up_and_activate(client, signup_data, outbox, PARTIAL)

    assert "Libellé de la structure Paul LEFEBVRE" in recap
    assert "Adresse 26000 VALENCE Le répertoire SIRENE ne diffuse que la commune de cet établissement" in recap
    assert "DU MOULIN" not in recap
    assert structure.address_restricted and structure.address == "" and structure.city == "VALENCE"


def test_a_partly_public_address_is_for_managers_only(sign_in, directory):
    structure = StructureFactory(siret=PARTIAL, address="7 RUE DU MOULIN", postal_code="26000", city="VALENCE")
    manager = MembershipFactory(structure=structure, role=Membership.Role.MAIN_MANAGER).user
    simple = MembershipFactory(structure=structure, role=Membership.Role.USER).user
    load_sample()  # the new stock marks the existing structure
    structure.refresh_from_db()
    assert structure.address_restricted

    page = text(sign_in(simple).get(structure.get_absolute_url()))
    assert "7 RUE DU MOULIN" not in page and "26000" not in page and "VALENCE" not in page
    assert "seuls ses gestionnaires la voient" in page

    page = text(sign_in(manager).get(structure.get_absolute_url()))
    assert "7 RUE DU MOULIN" in page and "les utilisateurs simples de la structure ne la voient pas" in page


def test_create_a_structure_refuses_a_closed_one_and_fills_in_an_open_one(sign_in, member, directory):
    browser = sign_in(member)

    refused = browser.post(CREATE, {"siret": CLOSED})
    assert refused.context["form"].errors["siret"] == [
        "Cet établissement est fermé selon le répertoire SIRENE (stock du 01/11/2026)."
    ]
    assert not Structure.objects.exists()

    created = browser.post(CREATE, {"siret": "732 829 320 00017"}, follow=True)
    structure = Structure.objects.get(siret=LISTED)
    assert created.redirect_chain[-1][0] == structure.get_absolute_url()
    assert structure.name == "EARL DU PLATEAU" and structure.city == "CREST"
    assert "EARL DU PLATEAU" in text(created) and "12 BIS ROUTE DE LA FORET" in text(created)
    assert (
        "est créée avec le libellé, l'adresse et le numéro de TVA du répertoire SIRENE (stock du 01/11/2026)"
        in text(created)
    )


def test_each_new_stock_marks_every_structure_again(db, write_stock):
    listed = StructureFactory(siret=LISTED)
    unlisted = StructureFactory(siret=UNLISTED)
    closed = StructureFactory(siret=CLOSED)

    load_sample()

    for structure in (listed, unlisted, closed):
        structure.refresh_from_db()
    assert (listed.sirene_state, unlisted.sirene_state, closed.sirene_state) == (
        SireneState.LISTED,
        SireneState.UNLISTED,
        SireneState.CLOSED,
    )
    assert unlisted.sirene_stock_date == STOCK_DATE


def test_support_filters_the_structures_absent_from_the_directory(agent, directory):
    StructureFactory(
        siret=UNLISTED, name="Ferme fantôme", sirene_state=SireneState.UNLISTED, sirene_stock_date=STOCK_DATE
    )
    StructureFactory(siret=LISTED, name="Ferme connue", sirene_state=SireneState.LISTED, sirene_stock_date=STOCK_DATE)

    page = text(agent.get(reverse("admin:structures_structure_changelist"), {"sirene_state__exact": "unlisted"}))

    assert "Ferme fantôme" in page and "Ferme connue" not in page
    structure = Structure.objects.get(siret=UNLISTED)
    page = text(agent.get(reverse("admin:structures_structure_change", args=[structure.pk])))
    assert "Absent du répertoire SIRENE au 01/11/2026" in page


def test_a_request_of_a_structure_absent_from_the_directory_is_flagged(directory):
    farm = FarmFactory(siret=UNLISTED)
    load_sample()
    farm.refresh_from_db()
    request = make_sent_request(farm)
    from refunds import flags

    flags.renew(request, list(request.lines.select_related("product")))

    flag = RefundFlag.objects.get(request=request, kind=RefundFlag.Kind.SIRENE)
    assert flag.explanation.startswith("SIRET absent du stock SIRENE du 01/11/2026 (établissement créé depuis")


# « Comparer avec le répertoire SIRENE »


@pytest.fixture
def listed_farm(directory):
    """Farm EARL DU PLATEAU as its manager typed it before the directory was loaded."""
    structure = FarmFactory(
        siret=LISTED,
        name="EARL Plateau",
        address="Route de la Forêt",
        address_complement_1="BP 12",
        postal_code="26400",
        city="Crest",
    )
    MembershipFactory(structure=structure, role=Membership.Role.MAIN_MANAGER, user__email="gestion@plateau.fr")
    return structure


def comparison(structure) -> str:
    return reverse("structures:structure_sirene", args=[structure.pk])


def test_the_comparison_shows_each_difference_and_takes_the_ticked_ones(sign_in, listed_farm, outbox):
    manager = listed_farm.memberships.get().user
    browser = sign_in(manager)
    update_page = text(browser.get(reverse("structures:structure_update", args=[listed_farm.pk])))
    assert "Comparer avec le répertoire SIRENE" in update_page

    page = text(browser.get(comparison(listed_farm)))
    assert "Sur le portail : EARL Plateau → répertoire SIRENE : EARL DU PLATEAU" in page
    assert "Sur le portail : Route de la Forêt → répertoire SIRENE : 12 BIS ROUTE DE LA FORET" in page
    assert "Sur le portail : (vide) → répertoire SIRENE : FR44732829320" in page
    # Neither a difference of case (Crest, CREST) nor a value the directory does not give (BP 12) is offered.
    assert "CREST" not in page and "BP 12" not in page

    response = browser.post(comparison(listed_farm), {"stock": "2026-11-01", "name": "on", "address": "on"})

    assert response.status_code == 302
    listed_farm.refresh_from_db()
    assert listed_farm.name == "EARL DU PLATEAU" and listed_farm.address == "12 BIS ROUTE DE LA FORET"
    assert listed_farm.vat_number == "" and listed_farm.address_complement_1 == "BP 12", "what was not ticked stays"
    [changed] = [m for m in outbox() if m.to == ["gestion@plateau.fr"]]
    assert "EARL DU PLATEAU" in changed.body


def test_the_comparison_needs_a_tick(sign_in, listed_farm):
    response = sign_in(listed_farm.memberships.get().user).post(comparison(listed_farm), {"stock": "2026-11-01"})

    assert "Cochez au moins une des informations à reprendre (une case par information)." in text(response)
    assert Structure.objects.get(pk=listed_farm.pk).name == "EARL Plateau"


def test_a_stock_put_in_service_meanwhile_shows_the_comparison_again(sign_in, listed_farm):
    browser = sign_in(listed_farm.memberships.get().user)

    response = browser.post(comparison(listed_farm), {"stock": "2026-10-01", "name": "on"})

    assert "Un nouveau stock du répertoire SIRENE a été mis en service entre-temps" in text(response)
    assert 'value="2026-11-01"' in response.content.decode()
    assert Structure.objects.get(pk=listed_farm.pk).name == "EARL Plateau"


def test_the_comparison_asks_for_the_password_again(sign_in, listed_farm):
    response = sign_in(listed_farm.memberships.get().user, fresh=False).post(
        comparison(listed_farm), {"stock": "2026-11-01", "name": "on"}
    )

    assert response.status_code == 302 and response.url.startswith(reverse("accounts:confirm_password"))
    assert Structure.objects.get(pk=listed_farm.pk).name == "EARL Plateau"


def test_the_comparison_is_for_managers_only(sign_in, listed_farm):
    simple = MembershipFactory(structure=listed_farm, role=Membership.Role.USER).user

    assert sign_in(simple).post(comparison(listed_farm), {"stock": "2026-11-01", "name": "on"}).status_code == 404
    assert Structure.objects.get(pk=listed_farm.pk).name == "EARL Plateau"


def test_an_unlisted_structure_has_nothing_to_compare(sign_in, directory):
    structure = FarmFactory(siret=UNLISTED)
    manager = MembershipFactory(structure=structure, role=Membership.Role.MAIN_MANAGER).user

    page = text(sign_in(manager).get(comparison(structure)))

    assert "est absent du répertoire SIRENE au 01/11/2026 : il n'y a rien à comparer" in page


def test_without_a_directory_there_is_no_comparison(sign_in, farm):
    manager = farm.memberships.get().user
    browser = sign_in(manager)

    assert browser.get(comparison(farm)).status_code == 404
    assert "Comparer avec le répertoire SIRENE" not in text(
        browser.get(reverse("structures:structure_update", args=[farm.pk]))
    )
    assert not Stock.objects.exists()


def test_a_closed_establishment_already_on_the_portal_can_still_be_joined(sign_in, member, directory):
    """An accountant asks to join a farm closed since, for the years it was open: nothing is created."""
    StructureFactory(siret=CLOSED)

    response = sign_in(member).post(CREATE, {"siret": CLOSED})

    assert response.status_code == 302 and member.approval_requests.get().structure.siret == CLOSED


def test_an_edit_keeps_the_marks_an_import_set_meanwhile(listed_farm):
    from structures import workflows

    stale = Structure.objects.get(pk=listed_farm.pk)  # as « Modifier une structure » read it
    Structure.objects.filter(pk=listed_farm.pk).update(sirene_state=SireneState.CLOSED, address_restricted=True)
    stale.phone = "+33475000000"

    workflows.update_structure(stale, by=listed_farm.memberships.get().user)

    listed_farm.refresh_from_db()
    assert listed_farm.sirene_state == SireneState.CLOSED and listed_farm.address_restricted
    assert listed_farm.phone == "+33475000000"
