"""« Créer une coordonnée bancaire » and what managers do with bank details afterwards."""

import pikepdf
import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from structures.models import BankAccount
from tests.factories import BankAccountFactory, StructureFactory, UserFactory
from tests.structures.conftest import IBAN, OTHER_IBAN, PDF, arm_pdf, image_bytes, pdf_bytes, png_of, upload
from twofactor.devices import email_device

CREATE = reverse("structures:bank_account_create")


def mailed_code(user) -> str:
    """The e-mail code « Confirmez votre identité » has just mailed, once the password was right."""
    return email_device(user).token


def test_manager_creates_the_first_bank_account_which_becomes_the_default(
    sign_in, manager, farm, bank_account_data, outbox
):
    response = sign_in(manager).post(CREATE, bank_account_data())

    bank_account = BankAccount.objects.get()
    assert response.status_code == 302
    assert response["Location"] == bank_account.get_absolute_url()
    assert (bank_account.structure, bank_account.label, bank_account.iban, bank_account.bic) == (
        farm,
        "Compte courant",
        IBAN,
        "AGRIFRPP",
    )
    assert bank_account.is_default
    assert bank_account.created_by == manager
    assert bank_account.rib_content_type == "application/pdf"
    with pikepdf.open(bank_account.rib) as stored:
        assert len(stored.pages) == 1
    assert bank_account.history.get().history_user == manager
    [mail] = outbox()
    assert mail.to == [manager.email]
    assert "FR76 •••• … 189" in mail.body and IBAN not in mail.body
    html = mail.alternatives[0][0]
    assert "FR76 •••• … 189" in html and IBAN not in html
    assert "créée" in mail.subject and farm.display_name in mail.subject


def test_the_rib_is_stored_under_a_random_name_whatever_it_was_called(sign_in, manager, bank_account_data, settings):
    sign_in(manager).post(CREATE, bank_account_data(rib_file=upload(name="../../etc/cron.d/evil.pdf")))

    bank_account = BankAccount.objects.get()
    stored = bank_account.rib.name
    assert "evil" not in stored and ".." not in stored
    assert stored.endswith(".pdf") and len(stored.split("/")[-1]) == 32 + 4
    assert (settings.MEDIA_ROOT / "rib" / stored).is_file()
    assert bank_account.rib_filename == "evil.pdf"


def test_a_png_rib_is_stored_as_png_whatever_its_name(sign_in, manager, bank_account_data):
    sign_in(manager).post(CREATE, bank_account_data(rib_file=upload(image_bytes("PNG"), name="rib.pdf")))

    bank_account = BankAccount.objects.get()
    assert bank_account.rib_content_type == "image/png"
    assert bank_account.rib.name.endswith(".png")


def test_every_manager_is_mailed_at_their_contact_address(
    sign_in, manager, second_manager, attached, bank_account_data, outbox
):
    sign_in(manager).post(CREATE, bank_account_data())

    assert sorted(mail.to[0] for mail in outbox()) == sorted([manager.email, "gaston@contact.fr"])


def test_the_bic_is_taken_from_the_iban_when_left_empty(sign_in, manager, bank_account_data):
    sign_in(manager).post(CREATE, bank_account_data(bic=""))

    assert BankAccount.objects.get().bic == "AGRIFRPPXXX"


def test_a_second_account_is_not_the_default(sign_in, manager, farm, bank_account_data):
    BankAccountFactory(structure=farm, iban=OTHER_IBAN, bic="PSSTFRPP")
    sign_in(manager).post(CREATE, bank_account_data())

    assert not BankAccount.objects.get(iban=IBAN).is_default


def test_the_same_iban_twice_on_a_structure_is_refused(sign_in, manager, farm, bank_account_data):
    BankAccountFactory(structure=farm, iban=IBAN)
    response = sign_in(manager).post(CREATE, bank_account_data(label="Autre nom"))

    assert response.status_code == 200
    assert response.context["form"].errors["iban"] == ["Cet IBAN est déjà enregistré pour cette structure."]
    assert BankAccount.objects.count() == 1


def test_the_same_name_twice_on_a_structure_is_refused_next_to_the_name(sign_in, manager, farm, bank_account_data):
    BankAccountFactory(structure=farm, label="Compte courant", iban=OTHER_IBAN)
    response = sign_in(manager).post(CREATE, bank_account_data())

    assert response.context["form"].errors["label"] == ["Une coordonnée bancaire de cette structure porte déjà ce nom."]
    assert BankAccount.objects.count() == 1


def test_a_wrong_iban_with_no_bic_gets_one_error_only(sign_in, manager, bank_account_data):
    response = sign_in(manager).post(CREATE, bank_account_data(iban="FR7630006000011234567890188", bic=""))

    assert list(response.context["form"].errors) == ["iban"]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"iban": "FR7630006000011234567890188"}, "iban", "sa clé de contrôle est fausse"),
        ({"iban": "FR763000600001123456789018"}, "iban", "pas la bonne longueur"),
        ({"iban": "TR330006100519786457841326"}, "iban", "zone SEPA"),
        ({"iban": ""}, "iban", "Ce champ est obligatoire."),
        ({"bic": "DEUTDEFF"}, "bic", "banque d&#x27;un autre pays"),
        ({"bic": "BNPAFRPP"}, "bic", "pas celui de la banque de l&#x27;IBAN"),
        ({"label": ""}, "label", "Ce champ est obligatoire."),
        ({"label": "x" * 101}, "label", "au plus 100 caractères"),
        ({"rib_file": None}, "rib_file", "Ce champ est obligatoire."),
        ({"rib_file": upload(b"", name="vide.pdf")}, "rib_file", "Le fichier soumis est vide."),
        ({"rib_file": upload(PDF + b" " * (6 * 1024 * 1024))}, "rib_file", "ne doit pas dépasser 5 Mo"),
        ({"rib_file": upload(b"MZ\x90\x00" + b"\x00" * 64, name="rib.pdf")}, "rib_file", "ni un PDF, ni une image"),
        ({"rib_file": upload(b"<html><body>RIB</body></html>", name="rib.pdf")}, "rib_file", "ni un PDF, ni une image"),
        ({"rib_file": upload(b"<svg xmlns='http://www.w3.org/2000/svg'/>", name="rib.svg")}, "rib_file", "ni un PDF"),
        ({"rib_file": upload(png_of(8000, 5000), name="rib.png")}, "rib_file", "40 millions de pixels"),
        ({"rib_file": upload(b"%PDF-1.4\n<html>RIB</html>\n%%EOF", name="rib.pdf")}, "rib_file", "PDF est endommagé"),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_saved(
    sign_in, manager, bank_account_data, outbox, overrides, field, message
):
    response = sign_in(manager).post(CREATE, bank_account_data(**overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert message in response.text
    assert response.text.count("Erreur – ") == 1
    assert not BankAccount.objects.exists()
    assert outbox() == []


def test_a_40_megapixel_png_is_refused_next_to_the_field_and_nothing_is_stored(
    sign_in, manager, bank_account_data, settings, outbox
):
    """A « pixel flood »: 127 KB that decode to 160 MB of pixels, refused from its header."""
    response = sign_in(manager).post(CREATE, bank_account_data(rib_file=upload(png_of(8000, 5000), name="rib.png")))

    assert response.status_code == 200
    [message] = response.context["form"].errors["rib_file"]
    assert message.startswith("Cette image compte trop de pixels (40 millions de pixels ; 12,5 millions au plus).")
    assert message in response.text.replace("&#x27;", "'")
    assert not BankAccount.objects.exists()
    assert not any(path.is_file() for path in (settings.MEDIA_ROOT / "rib").rglob("*"))
    assert outbox() == []


def test_a_pdf_is_stored_without_its_active_content_and_keeps_its_pages(sign_in, manager, bank_account_data):
    armed = pdf_bytes(pages=3, arm=arm_pdf)

    response = sign_in(manager).post(CREATE, bank_account_data(rib_file=upload(armed)))

    assert response.status_code == 302
    bank_account = BankAccount.objects.get()
    raw = bank_account.rib.read()
    assert b"MZ" not in raw and b"JavaScript" not in raw and b"cmd.exe" not in raw
    with pikepdf.open(bank_account.rib) as stored:
        assert len(stored.pages) == 3
        assert "/OpenAction" not in stored.Root and "/Names" not in stored.Root and "/AA" not in stored.Root
        assert len(stored.attachments) == 0
        assert all("/AA" not in page for page in stored.pages)
        annotations = stored.pages[2].Annots
        assert [str(annotation.Subtype) for annotation in annotations] == ["/Link", "/Link", "/Link"]
        assert all("/A" not in annotation for annotation in annotations)  # no program, no web address
        assert annotations[2].Dest[0].objgen == stored.pages[0].objgen  # the link to the first page stays


def test_a_300_character_file_name_is_refused(sign_in, manager, bank_account_data):
    response = sign_in(manager).post(CREATE, bank_account_data(rib_file=upload(name="a" * 296 + ".pdf")))

    assert "au plus 200 caractères" in response.text
    assert not BankAccount.objects.exists()


def test_the_structure_list_offers_only_structures_the_user_manages(sign_in, manager, farm, other_manager):
    response = sign_in(manager).get(CREATE)

    structures = list(response.context["form"].fields["structure"].queryset)
    assert structures == [farm]


def test_a_manager_cannot_register_bank_details_on_a_structure_they_do_not_manage(
    sign_in, manager, other_manager, bank_account_data
):
    someone_elses = other_manager.memberships.get().structure
    response = sign_in(manager).post(CREATE, bank_account_data(structure=someone_elses.pk))

    assert "structure" in response.context["form"].errors
    assert not BankAccount.objects.exists()


def test_a_stale_password_is_asked_again_and_nothing_is_saved(sign_in, manager, bank_account_data):
    client = sign_in(manager, fresh=False)

    response = client.post(CREATE, bank_account_data())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:confirm_password"))
    assert not BankAccount.objects.exists()


def test_confirming_the_password_leads_back_to_the_form(sign_in, manager):
    client = sign_in(manager, fresh=False)
    confirm = client.get(CREATE)["Location"]

    wrong = client.post(confirm, {"password": "pas le bon", "next": CREATE})
    assert "Le mot de passe est incorrect." in wrong.text
    password = client.post(confirm, {"password": "Blé-Moisson-42x", "next": CREATE})
    assert client.get(CREATE)["Location"].startswith(confirm), "the password alone does not open the form"
    code = client.post(password["Location"], {"code": mailed_code(manager), "next": CREATE})

    assert code["Location"] == CREATE
    assert client.get(CREATE).status_code == 200


def test_confirm_password_refuses_to_redirect_off_site(sign_in, manager):
    client = sign_in(manager, fresh=False)

    confirm = reverse("accounts:confirm_password")
    client.post(confirm, {"password": "Blé-Moisson-42x", "next": "https://evil.example/"})
    response = client.post(confirm, {"code": mailed_code(manager), "next": "https://evil.example/"})

    assert response["Location"] == reverse("home")


def test_the_password_confirmation_expires(sign_in, manager, time_machine):
    time_machine.move_to("2026-11-26 10:00 +0100")
    client = sign_in(manager)
    assert client.get(CREATE).status_code == 200

    time_machine.move_to("2026-11-26 10:11 +0100")
    assert client.get(CREATE).status_code == 302


def test_simple_users_outsiders_and_staff_get_404(sign_in, attached, outsider, staff, bank_account_data):
    for user in [attached, outsider, staff]:
        assert sign_in(user).post(CREATE, bank_account_data()).status_code == 404
    assert not BankAccount.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, bank_account_data):
    response = client.post(CREATE, bank_account_data())

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert not BankAccount.objects.exists()


class TestDetail:
    def test_managers_see_the_full_iban(self, sign_in, manager, farm):
        bank_account = BankAccountFactory(structure=farm)
        response = sign_in(manager).get(bank_account.get_absolute_url())

        assert "FR76 3000 6000 0112 3456 7890 189" in response.text

    def test_simple_users_see_it_masked(self, sign_in, attached, farm):
        bank_account = BankAccountFactory(structure=farm)
        response = sign_in(attached).get(bank_account.get_absolute_url())

        assert response.status_code == 200
        assert '<span aria-hidden="true">FR76 •••• … 189</span>' in response.text
        assert "masqué, commençant par FR76 et finissant par 189" in response.text  # not « puce puce puce »
        assert IBAN not in response.text and "3000 6000" not in response.text
        assert reverse("structures:bank_account_update", args=[bank_account.pk]) not in response.text
        # Nor the RIB, which shows the IBAN whole: the page says why.
        assert reverse("structures:rib_download", args=[bank_account.pk]) not in response.text
        assert "Seuls les gestionnaires de la structure peuvent le télécharger" in response.text

    def test_lists_show_it_masked_even_to_managers(self, sign_in, manager, farm):
        BankAccountFactory(structure=farm)
        for url in [reverse("structures:structure_list"), farm.get_absolute_url()]:
            response = sign_in(manager).get(url)
            assert "FR76 •••• … 189" in response.text
            assert "3000 6000" not in response.text

    def test_outsiders_and_staff_get_404_on_the_site(self, sign_in, outsider, other_manager, staff, farm):
        bank_account = BankAccountFactory(structure=farm)
        for user in [outsider, other_manager, staff]:
            assert sign_in(user).get(bank_account.get_absolute_url()).status_code == 404


class TestChanges:
    @pytest.fixture
    def accounts(self, farm):
        default = BankAccountFactory(structure=farm, label="Principal", is_default=True)
        other = BankAccountFactory(structure=farm, label="Épargne", iban=OTHER_IBAN, bic="PSSTFRPP", is_default=False)
        return default, other

    def test_rename(self, sign_in, manager, accounts, outbox):
        default, _ = accounts
        url = reverse("structures:bank_account_update", args=[default.pk])
        response = sign_in(manager).post(url, {"label": "Compte exploitation"})

        assert response["Location"] == default.get_absolute_url()
        default.refresh_from_db()
        assert default.label == "Compte exploitation"
        [mail] = outbox()
        assert "renommée" in mail.subject
        assert "anciennement « Principal »" in mail.body

    def test_rename_to_a_name_already_used_is_refused(self, sign_in, manager, accounts):
        default, _ = accounts
        url = reverse("structures:bank_account_update", args=[default.pk])
        response = sign_in(manager).post(url, {"label": "Épargne"})

        assert "porte déjà ce nom" in response.text
        default.refresh_from_db()
        assert default.label == "Principal"

    def test_replace_the_rib(self, sign_in, manager, accounts, outbox):
        default, _ = accounts
        old_name = default.rib.name
        url = reverse("structures:bank_account_update", args=[default.pk])
        sign_in(manager).post(url, {"label": "Principal", "rib_file": upload(image_bytes("JPEG"), name="scan.jpg")})

        default.refresh_from_db()
        assert default.rib.name != old_name and default.rib.name.endswith(".jpg")
        assert default.rib_content_type == "image/jpeg"
        assert default.history.first().rib == default.rib.name
        assert default.history.all()[1].rib == old_name  # the history still points to the old file
        [mail] = outbox()
        assert "RIB" in mail.subject

    def test_renaming_and_replacing_at_once_sends_one_mail_saying_both(self, sign_in, manager, accounts, outbox):
        default, _ = accounts
        url = reverse("structures:bank_account_update", args=[default.pk])
        sign_in(manager).post(url, {"label": "Compte exploitation", "rib_file": upload()})

        [mail] = outbox()
        assert "Une coordonnée bancaire a été renommée" in mail.body
        assert "Le RIB d'une coordonnée bancaire a été remplacé" in mail.body
        assert "anciennement « Principal »" in mail.alternatives[0][0]

    def test_replacing_with_a_forged_file_changes_nothing(self, sign_in, manager, accounts, outbox):
        default, _ = accounts
        old_name = default.rib.name
        url = reverse("structures:bank_account_update", args=[default.pk])
        response = sign_in(manager).post(url, {"label": "Renommé", "rib_file": upload(b"<html>", name="rib.pdf")})

        assert "ni un PDF, ni une image PNG ou JPEG" in response.text
        default.refresh_from_db()
        assert (default.label, default.rib.name) == ("Principal", old_name)
        assert outbox() == []

    def test_make_default(self, sign_in, manager, accounts, outbox):
        default, other = accounts
        sign_in(manager).post(reverse("structures:bank_account_make_default", args=[other.pk]))

        default.refresh_from_db()
        other.refresh_from_db()
        assert other.is_default and not default.is_default
        [mail] = outbox()
        assert "par défaut" in mail.subject

    def test_make_default_is_post_only(self, sign_in, manager, accounts):
        _, other = accounts
        assert sign_in(manager).get(reverse("structures:bank_account_make_default", args=[other.pk])).status_code == 405

    def test_delete(self, sign_in, manager, farm, accounts, outbox):
        _, other = accounts
        url = reverse("structures:bank_account_delete", args=[other.pk])
        client = sign_in(manager)
        assert "Vous allez supprimer « Épargne »" in client.get(url).text

        response = client.post(url)

        assert response["Location"] == farm.get_absolute_url()
        assert not BankAccount.objects.filter(pk=other.pk).exists()
        assert other.history.filter(history_type="-").exists()
        [mail] = outbox()
        assert "supprimée" in mail.subject and "PSSTFRPP" in mail.body

    def test_the_default_cannot_be_deleted_while_others_remain(self, sign_in, manager, accounts, outbox):
        default, _ = accounts
        response = sign_in(manager).post(reverse("structures:bank_account_delete", args=[default.pk]), follow=True)

        assert "choisissez d&#x27;abord une autre coordonnée par défaut" in response.text
        assert BankAccount.objects.filter(pk=default.pk).exists()
        assert outbox() == []

    @pytest.mark.parametrize(
        ("name", "method", "data"),
        [
            ("structures:bank_account_update", "post", {"label": "Volé"}),
            ("structures:bank_account_make_default", "post", {}),
            ("structures:bank_account_delete", "post", {}),
        ],
    )
    def test_each_change_asks_for_the_password_again(self, sign_in, manager, accounts, outbox, name, method, data):
        _, other = accounts
        before = list(BankAccount.objects.values_list("label", "is_default"))

        response = getattr(sign_in(manager, fresh=False), method)(reverse(name, args=[other.pk]), data)

        assert response["Location"].startswith(reverse("accounts:confirm_password"))
        assert list(BankAccount.objects.values_list("label", "is_default")) == before
        assert outbox() == []

    @pytest.mark.parametrize(
        "name",
        ["structures:bank_account_update", "structures:bank_account_make_default", "structures:bank_account_delete"],
    )
    def test_simple_users_outsiders_and_staff_cannot_change_anything(
        self, sign_in, attached, outsider, other_manager, staff, accounts, outbox, name
    ):
        _, other = accounts
        before = list(BankAccount.objects.values_list("label", "is_default", "rib"))
        for user in [attached, outsider, other_manager, staff]:
            assert sign_in(user).post(reverse(name, args=[other.pk]), {"label": "Volé"}).status_code == 404
        assert list(BankAccount.objects.values_list("label", "is_default", "rib")) == before
        assert outbox() == []


class TestRibDownload:
    @pytest.fixture
    def bank_account(self, farm):
        return BankAccountFactory(structure=farm)

    @pytest.fixture
    def support(self, db):
        user = UserFactory(is_staff=True, first_name="Sophie")
        user.user_permissions.add(Permission.objects.get(codename="view_bankaccount"))
        return user

    @pytest.mark.parametrize(
        ("persona", "status"),
        [
            ("manager", 200),
            ("attached", 403),  # the RIB shows the whole IBAN, which only managers see
            ("support", 200),
            ("staff", 404),  # staff without the right to see bank details
            ("outsider", 404),
            ("other_manager", 404),
        ],
    )
    def test_who_may_download_it(self, request, sign_in, bank_account, persona, status):
        user = request.getfixturevalue(persona)
        response = sign_in(user).get(reverse("structures:rib_download", args=[bank_account.pk]))

        assert response.status_code == status
        if status == 200:
            assert b"".join(response.streaming_content).startswith(b"%PDF-")
            assert response["Content-Type"] == "application/pdf"
            assert (
                response["Content-Disposition"]
                == f'attachment; filename="RIB-{bank_account.structure.siret}-{bank_account.pk}.pdf"'
            )
            assert response["X-Content-Type-Options"] == "nosniff"
            assert "no-store" in response["Cache-Control"]
        if status == 403:
            assert "Seuls les gestionnaires de la structure téléchargent le RIB" in response.text

    def test_anonymous_visitors_are_sent_to_sign_in(self, client, bank_account):
        response = client.get(reverse("structures:rib_download", args=[bank_account.pk]))

        assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:login"))

    def test_no_url_serves_the_storage_folder(self, client, support, bank_account):
        client.force_login(support)
        assert client.get(f"/fichiers-prives/{bank_account.rib.name}").status_code == 404

    def test_a_missing_file_is_a_404_not_a_500(self, sign_in, manager, bank_account):
        bank_account.rib.storage.delete(bank_account.rib.name)
        assert sign_in(manager).get(reverse("structures:rib_download", args=[bank_account.pk])).status_code == 404


def test_a_failure_mid_step_leaves_no_bank_account_and_no_mail(
    sign_in, manager, bank_account_data, outbox, monkeypatch
):
    from structures import emails

    def broken(*args, **kwargs):
        raise RuntimeError("mail queue down")

    monkeypatch.setattr(emails.mail, "send", broken)
    client = sign_in(manager)
    client.raise_request_exception = False

    response = client.post(CREATE, bank_account_data())

    assert response.status_code == 500
    assert not BankAccount.objects.exists()
    assert not BankAccount.history.exists()


def test_structure_list_query_count_does_not_grow_with_accounts(sign_in, manager, farm, django_assert_max_num_queries):
    for n in range(5):
        BankAccountFactory(
            structure=farm, label=f"Compte {n}", iban=f"FR76300060000112345678901{n}" if n else IBAN, is_default=n == 0
        )
    other = StructureFactory()
    manager.memberships.create(structure=other, role="user")
    client = sign_in(manager)
    with django_assert_max_num_queries(8):
        client.get(reverse("structures:structure_list"))


def test_a_long_sepa_iban_typed_with_spaces_is_accepted(sign_in, manager, bank_account_data):
    maltese = "MT84 MALT 0110 0001 2345 MTLC AST0 01S"
    sign_in(manager).post(CREATE, bank_account_data(iban=maltese, bic="MALTMTMT"))

    assert BankAccount.objects.get().iban == "MT84MALT011000012345MTLCAST001S"


def test_the_bic_lookup_proposes_the_banks_bic(sign_in, manager):
    client = sign_in(manager)
    url = reverse("structures:bic_lookup")

    assert client.post(url, {"iban": "FR76 3000 6000 0112 3456 7890 189"}).json() == {"bic": "AGRIFRPPXXX"}
    assert client.post(url, {"iban": "BE68539007547034"}).json() == {"bic": ""}  # a bank schwifty does not know
    assert client.post(url, {"iban": "n'importe quoi" * 100}).json() == {"bic": ""}
    assert client.get(url).status_code == 405


def test_the_bic_lookup_is_for_signed_in_users(client, db):
    response = client.post(reverse("structures:bic_lookup"), {"iban": IBAN})

    assert response.status_code == 302


def test_an_empty_submission_names_every_required_field(sign_in, manager):
    response = sign_in(manager).post(CREATE, {})

    assert set(response.context["form"].errors) == {"label", "structure", "iban", "rib_file"}
    assert "Le formulaire contient 4 erreurs" in response.text


def test_the_rib_must_be_chosen_again_after_another_error_and_the_form_says_so(sign_in, manager, bank_account_data):
    response = sign_in(manager).post(CREATE, bank_account_data(iban="FR7630006000011234567890188"))

    assert "Sélectionnez de nouveau votre RIB" in response.text


def test_an_expired_confirmation_on_submit_says_nothing_was_saved(sign_in, manager, farm):
    bank_account = BankAccountFactory(structure=farm, is_default=False)
    client = sign_in(manager, fresh=False)

    response = client.post(reverse("structures:bank_account_make_default", args=[bank_account.pk]), follow=True)

    assert "confirmez votre identité, puis recommencez : rien n&#x27;a été enregistré" in response.text
    assert response.redirect_chain[-1][0].endswith(f"?next={bank_account.get_absolute_url().replace('/', '%2F')}")


def test_the_right_password_clears_earlier_typos(sign_in, manager, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = sign_in(manager, fresh=False)
    confirm = reverse("accounts:confirm_password")

    for _ in range(2):
        assert "Le mot de passe est incorrect." in client.post(confirm, {"password": "faux"}).text
    assert client.post(confirm, {"password": "Blé-Moisson-42x"}).status_code == 302
    for _ in range(2):
        assert "Le mot de passe est incorrect." in client.post(confirm, {"password": "faux"}).text
    assert client.post(confirm, {"password": "Blé-Moisson-42x"}).status_code == 302


def test_too_many_wrong_confirmations_block_bank_changes(sign_in, manager, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = sign_in(manager, fresh=False)
    confirm = reverse("accounts:confirm_password")

    for _ in range(3):
        response = client.post(confirm, {"password": "faux"})

    assert "Mot de passe temporairement bloqué" in response.text
    assert client.post(confirm, {"password": "Blé-Moisson-42x"}).status_code != 302
