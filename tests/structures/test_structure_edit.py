"""« Gérer une structure » → « Modifier une structure »."""

import re

import pytest
from django.urls import reverse

from audit.models import Action, AuditEvent
from structures.models import Membership, Structure
from tests.factories import STRUCTURE_FORM, MembershipFactory, StructureFactory, make_siret

MANAGE = reverse("structures:structure_manage")


@pytest.fixture
def structure_data():
    def make(**overrides):
        data = {**STRUCTURE_FORM, **overrides}
        return {key: value for key, value in data.items() if value is not None}

    return make


def update_url(structure):
    return reverse("structures:structure_update", args=[structure.pk])


def test_manage_lists_only_the_siret_structures_the_user_manages(sign_in, manager, farm, attached, other_manager):
    someone_elses = other_manager.memberships.get().structure
    response = sign_in(manager).get(MANAGE)

    assert list(response.context["form"].fields["structure"].queryset) == [farm]
    assert "Modifier une structure" in response.text
    assert someone_elses.siret not in response.text


def test_choosing_the_request_type_and_identifier_opens_the_form(sign_in, manager, farm):
    response = sign_in(manager).get(MANAGE, {"request_type": "modify", "structure": farm.pk})

    assert response["Location"] == update_url(farm)


def test_choosing_a_structure_one_does_not_manage_is_refused(sign_in, manager, other_manager):
    someone_elses = other_manager.memberships.get().structure
    response = sign_in(manager).get(MANAGE, {"request_type": "modify", "structure": someone_elses.pk})

    assert response.status_code == 200
    assert "structure" in response.context["form"].errors


def test_a_simple_user_is_told_only_managers_can_edit(sign_in, attached):
    response = sign_in(attached).get(MANAGE)

    assert "seuls ses gestionnaires" in response.text


def test_the_form_shows_the_four_blocks_with_siret_and_siren_read_only(sign_in, manager, farm):
    response = sign_in(manager).get(update_url(farm))

    for legend in [
        "Informations générales",
        "Adresse postale",
        "Informations mémoires de frais de justice",
        "Informations demandes de remboursement",
    ]:
        assert f'<legend class="fr-fieldset__legend">{legend}</legend>' in response.text
    assert f'id="structure-siret" type="text" value="{farm.siret}" autocomplete="off" readonly' in response.text
    assert f'id="structure-siren" type="text" value="{farm.siren}" autocomplete="off" readonly' in response.text
    assert "Celui de votre structure est FR" in response.text
    assert '<option value="FR" selected>France</option>' in response.text
    assert "centres de gestion ou cabinets comptables" in response.text


def test_submit_saves_every_field_and_confirms(sign_in, manager, farm, structure_data):
    data = structure_data(vat_number=f"FR {(12 + 3 * (int(farm.siren) % 97)) % 97:02d} {farm.siren}")
    client = sign_in(manager)

    response = client.post(update_url(farm), data, follow=True)

    assert "Les modifications de la structure sont enregistrées." in response.text
    assert 'class="fr-alert fr-alert--success' in response.text
    farm.refresh_from_db()
    assert farm.name == "EARL des Trois Chênes"
    assert farm.beneficiary_category == Structure.BeneficiaryCategory.FARMING_COMPANY
    assert farm.pacage == "026123456"
    assert farm.phone == "+33475123456"
    assert farm.vat_number.startswith("FR") and farm.vat_number.endswith(farm.siren)
    assert farm.postal_code == "26400"
    assert farm.refund_information_complete


def test_a_stale_password_is_asked_again_and_nothing_is_saved(sign_in, manager, farm, structure_data, outbox):
    before = Structure.objects.filter(pk=farm.pk).values().get()
    history = farm.history.count()
    client = sign_in(manager, fresh=False)

    opened = client.get(update_url(farm))
    response = client.post(update_url(farm), structure_data(pacage="974000001"), follow=True)

    confirm = reverse("accounts:confirm_password")
    assert opened["Location"].startswith(confirm)
    assert response.redirect_chain[0][0].startswith(confirm)
    assert "Confirmez votre identité" in response.text
    assert "rien n&#x27;a été enregistré" in response.text
    assert Structure.objects.filter(pk=farm.pk).values().get() == before
    assert farm.history.count() == history
    assert not AuditEvent.objects.filter(action=Action.STRUCTURE_CHANGED).exists()
    assert outbox() == []


def test_every_manager_is_mailed_what_changed_before_and_after(
    sign_in, manager, farm, second_manager, attached, structure_data, outbox
):
    farm.beneficiary_category, farm.pacage = "individual_farmer", "026123456"
    farm.save()
    gone = MembershipFactory(structure=farm, role=Membership.Role.MANAGER, user__is_active=False).user

    response = sign_in(manager).post(update_url(farm), structure_data(name=farm.name, pacage="974000001"), follow=True)

    assert "Ses gestionnaires en sont informés par courriel." in response.text
    mails = outbox()
    assert sorted(address for sent in mails for address in sent.to) == sorted([manager.email, "gaston@contact.fr"])
    assert gone.email not in {address for sent in mails for address in sent.to}
    for sent in mails:
        assert farm.name in sent.subject and "ont changé" in sent.subject
        html = sent.alternatives[0][0]
        for line in [
            "Numéro PACAGE : 026123456 → 974000001",
            "Catégorie de bénéficiaire : Exploitant agricole à titre individuel → Société agricole (GAEC, EARL, SCEA…)",
            "Ville : — → Aouste-sur-Sye",
        ]:
            assert line in sent.body and line in html
        assert "Libellé de la structure" not in sent.body  # unchanged fields are not listed
        assert "par Marie Gestion" in sent.body
    [event] = AuditEvent.objects.filter(action=Action.STRUCTURE_CHANGED)
    assert (event.actor, event.structure) == (manager, farm)
    assert {"beneficiary_category", "pacage", "city"} <= set(event.details["champs"])


def test_what_a_co_manager_typed_reaches_the_others_as_inert_text(sign_in, manager, farm, structure_data, outbox):
    """A name typed as an address must not become a link in an official mail."""
    sign_in(manager).post(update_url(farm), structure_data(name="Paiement sur https://ferme-piege.fr"))

    for sent in outbox():
        html = sent.alternatives[0][0]
        assert "https[:]//ferme-piege[.]fr" in sent.body and "https[:]//ferme-piege[.]fr" in html
        assert "https://ferme-piege.fr" not in sent.body + html


def test_the_centre_flag_is_mailed_as_yes_and_no(sign_in, manager, farm, structure_data, outbox):
    client = sign_in(manager)
    client.post(update_url(farm), structure_data())
    earlier = len(outbox())

    client.post(update_url(farm), structure_data(is_agricultural_centre="on"))

    [sent] = outbox()[earlier:]
    assert "L'organisation est un centre de gestion agricole : Non → Oui" in sent.body
    assert "Numéro PACAGE : 026123456 → —" in sent.body


def test_an_edit_that_changes_nothing_mails_nobody(sign_in, manager, farm, structure_data, outbox):
    client = sign_in(manager)
    client.post(update_url(farm), structure_data())
    earlier = len(outbox())
    events = AuditEvent.objects.count()

    response = client.post(update_url(farm), structure_data(), follow=True)

    assert "Aucune information de la structure n&#x27;a changé." in response.text
    assert len(outbox()) == earlier
    assert AuditEvent.objects.count() == events


def test_siret_and_status_cannot_be_changed_by_posting_them(sign_in, manager, farm, structure_data):
    siret = farm.siret
    sign_in(manager).post(update_url(farm), structure_data(siret=make_siret(), status="inactive"))

    farm.refresh_from_db()
    assert (farm.siret, farm.status) == (siret, "active")


def test_each_change_is_kept_in_the_history_and_shown(sign_in, manager, farm, structure_data):
    client = sign_in(manager)
    client.post(update_url(farm), structure_data())
    client.post(update_url(farm), structure_data(pacage="974000001"))

    latest = farm.history.first()
    assert latest.history_user == manager
    assert latest.pacage == "974000001"
    assert latest.prev_record.pacage == "026123456"
    response = client.get(update_url(farm))
    assert "Dernières modifications" in response.text
    assert "<td>Numéro PACAGE</td><td>026123456</td><td>974000001</td>" in response.text
    assert "Marie Gestion" in response.text


def test_a_management_centre_needs_no_category_or_pacage(sign_in, manager, farm, structure_data):
    response = sign_in(manager).post(
        update_url(farm),
        structure_data(beneficiary_category="individual_farmer", pacage="026123456", is_agricultural_centre="on"),
    )

    assert response.status_code == 302
    farm.refresh_from_db()
    assert farm.is_agricultural_centre
    assert (farm.beneficiary_category, farm.pacage) == ("", "")
    assert farm.refund_information_complete


def test_a_pacage_typed_with_spaces_is_accepted(sign_in, manager, farm, structure_data):
    sign_in(manager).post(update_url(farm), structure_data(pacage="026 123 456"))

    farm.refresh_from_db()
    assert farm.pacage == "026123456"


def test_a_management_centre_is_not_held_back_by_a_wrong_pacage_it_does_not_need(
    sign_in, manager, farm, structure_data
):
    response = sign_in(manager).post(update_url(farm), structure_data(pacage="12", is_agricultural_centre="on"))

    assert response.status_code == 302
    farm.refresh_from_db()
    assert farm.is_agricultural_centre and farm.pacage == ""


def test_a_farm_must_give_its_category_and_pacage(sign_in, manager, farm, structure_data):
    response = sign_in(manager).post(update_url(farm), structure_data(beneficiary_category="", pacage=""))

    errors = response.context["form"].errors
    assert "sauf si l&#x27;organisation est un centre de gestion agricole" in response.text
    assert set(errors) == {"beneficiary_category", "pacage"}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"pacage": "02612345A"}, "pacage", "que des chiffres"),
        ({"pacage": "02612345"}, "pacage", "exactement 9 chiffres"),
        ({"pacage": "126123456"}, "pacage", "département"),
        ({"vat_number": "FR40303265045"}, "vat_number", "ne correspond pas au SIREN"),
        ({"vat_number": "FR00"}, "vat_number", "pas valide"),
        ({"postal_code": "2640"}, "postal_code", "5 chiffres"),
        ({"postal_code": "ABCDE"}, "postal_code", "5 chiffres"),
        ({"phone": "12"}, "phone", "numéro de téléphone valide"),
        ({"email": "pas-une-adresse"}, "email", "adresse électronique valide"),
        ({"email": "a@b.fr\r\nBcc: x@y.fr"}, "email", "adresse électronique valide"),
        ({"email": "contact@\u0430.test"}, "email", "mélange plusieurs alphabets"),
        ({"country": "XX"}, "country", "Sélectionnez un choix valide"),
        ({"beneficiary_category": "ministre"}, "beneficiary_category", "Sélectionnez un choix valide"),
        ({"name": ""}, "name", "Ce champ est obligatoire."),
        ({"name": "x" * 201}, "name", "au plus 200 caractères"),
        ({"address": ""}, "address", "Ce champ est obligatoire."),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    sign_in, manager, farm, structure_data, outbox, overrides, field, message
):
    before = Structure.objects.filter(pk=farm.pk).values().get()
    history = farm.history.count()

    response = sign_in(manager).post(update_url(farm), structure_data(**overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in response.text
    assert Structure.objects.filter(pk=farm.pk).values().get() == before
    assert farm.history.count() == history
    assert outbox() == []


def test_a_foreign_address_keeps_its_own_postal_code(sign_in, manager, farm, structure_data):
    sign_in(manager).post(update_url(farm), structure_data(country="BE", postal_code="B-1000", city="Bruxelles"))

    farm.refresh_from_db()
    assert (farm.country.code, farm.postal_code) == ("BE", "B-1000")


def test_html_in_the_name_is_shown_escaped(sign_in, manager, farm, structure_data):
    client = sign_in(manager)
    client.post(update_url(farm), structure_data(name='<script>alert("x")</script>'))

    for url in [update_url(farm), farm.get_absolute_url(), reverse("structures:structure_list")]:
        response = client.get(url)
        assert '<script>alert("x")</script>' not in response.text
        assert "&lt;script&gt;" in response.text


@pytest.mark.parametrize("persona", ["attached", "outsider", "other_manager", "staff"])
def test_only_managers_can_open_or_submit_the_form(request, sign_in, farm, structure_data, persona):
    user = request.getfixturevalue(persona)
    before = Structure.objects.filter(pk=farm.pk).values().get()
    client = sign_in(user)

    assert client.get(update_url(farm)).status_code == 404
    assert client.post(update_url(farm), structure_data()).status_code == 404
    assert Structure.objects.filter(pk=farm.pk).values().get() == before


def test_anonymous_visitors_are_sent_to_sign_in(client, farm, structure_data):
    response = client.post(update_url(farm), structure_data())

    assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize(
    ("persona", "status"), [("manager", 200), ("attached", 200), ("outsider", 404), ("other_manager", 404)]
)
def test_structure_page_is_for_its_members(request, sign_in, farm, persona, status):
    response = sign_in(request.getfixturevalue(persona)).get(farm.get_absolute_url())

    assert response.status_code == status


def test_simple_users_see_the_structure_read_only(sign_in, attached, farm):
    response = sign_in(attached).get(farm.get_absolute_url())

    assert update_url(farm) not in response.text
    assert "seuls ses gestionnaires peuvent la modifier" in response.text
    assert "Dernières modifications" not in response.text


def test_structure_page_queries_stay_few(sign_in, manager, farm, structure_data, django_assert_max_num_queries):
    client = sign_in(manager)
    for pacage in ["026123456", "026123457", "026123458"]:
        client.post(update_url(farm), structure_data(pacage=pacage))
    with django_assert_max_num_queries(12):
        client.get(update_url(farm))


def test_the_structures_page_shows_bank_details_to_managers_and_structure_creation_to_all(sign_in, manager, attached):
    assert "Créer une coordonnée bancaire" in sign_in(manager).get(reverse("structures:structure_list")).text
    response = sign_in(attached).get(reverse("structures:structure_list"))
    assert "Créer une coordonnée bancaire" not in response.text
    assert "Gérer une structure" in response.text and "Créer une structure à partir de son SIRET" in response.text


def test_a_structure_without_a_name_still_has_a_usable_page(sign_in, manager):
    structure = StructureFactory(name="")
    manager.memberships.create(structure=structure, role="main_manager")

    response = sign_in(manager).get(structure.get_absolute_url())

    assert f"SIRET {structure.siret}" in response.text


def test_ticking_the_centre_flag_says_what_was_erased(sign_in, manager, farm, structure_data):
    farm.beneficiary_category, farm.pacage = "individual_farmer", "026123456"
    farm.save()

    response = sign_in(manager).post(update_url(farm), structure_data(is_agricultural_centre="on"), follow=True)

    assert "sa catégorie de bénéficiaire et son numéro PACAGE ont été effacés" in response.text
    home = sign_in(manager).get(reverse("home")).context["home"].steps
    assert "centre de gestion agricole" in home[3].detail and home[3].done


def test_the_identifier_picker_puts_no_token_in_the_address_bar(sign_in, manager):
    response = sign_in(manager).get(MANAGE)

    picker = re.search(r'<form method="get".*?</form>', response.text, re.S).group(0)
    assert 'name="structure"' in picker and "csrfmiddlewaretoken" not in picker


def test_the_phone_is_shown_as_typed_in_france(sign_in, manager, farm):
    farm.phone = "+33475123456"
    farm.save()

    response = sign_in(manager).get(update_url(farm))

    assert 'value="04 75 12 34 56"' in response.text


def test_a_structure_without_history_shows_its_page(sign_in, manager, farm):
    """Structures loaded in bulk (an import, the benchmark's seed) have no history record yet."""
    farm.history.all().delete()

    response = sign_in(manager).get(farm.get_absolute_url())

    assert response.status_code == 200
    assert farm.siret in response.text
