"""`manage.py import_sirene`: the sample loads, a new stock replaces the old one whole, and bad files change
nothing the portal reads."""

import csv
import io
import threading
import zipfile
from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections

from sirene import importer
from sirene.directory import Listed, Unlisted, look_up
from sirene.models import Establishment, LegalUnit, Stock
from structures import receivers
from tests.factories import StructureFactory
from tests.sirene.conftest import (
    CLOSED,
    ESTABLISHMENTS,
    LEGAL_UNITS,
    LISTED,
    PARTIAL,
    SOLE_TRADER,
    STOCK_DATE,
    UNLISTED,
    load_sample,
)


def rows_of(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def write_rows(path, rows, *, encoding="utf-8") -> str:
    with open(path, "w", newline="", encoding=encoding) as stream:
        csv.writer(stream, lineterminator="\n").writerows(rows)
    return str(path)


def test_without_a_directory_every_siret_is_none_of_its_business(db):
    assert look_up(LISTED) is None


def test_the_sample_loads_with_names_and_addresses_as_insee_writes_them(db):
    outcome = load_sample()

    assert outcome.establishments.rows == 300 and outcome.legal_units.rows == 300
    assert outcome.establishments.malformed == outcome.legal_units.malformed == 0
    stock = Stock.objects.get()
    assert stock.state == Stock.State.CURRENT and stock.stock_date == STOCK_DATE
    assert (stock.establishments, stock.legal_units) == (300, 300)
    assert Establishment.objects.count() == LegalUnit.objects.count() == 300

    assert look_up(LISTED) == Listed(
        siret=LISTED,
        stock_date=STOCK_DATE,
        closed=False,
        restricted=False,
        name="EARL DU PLATEAU",
        address="12 BIS ROUTE DE LA FORET",
        address_complement="",
        postal_code="26400",
        city="CREST",
    )
    assert look_up(SOLE_TRADER).name == "Jeanne MARTIN"
    assert look_up(CLOSED).closed
    partial = look_up(PARTIAL)
    assert partial.restricted and partial.address == "" and partial.city == "VALENCE"
    assert look_up(UNLISTED) == Unlisted(UNLISTED, STOCK_DATE)


def test_the_zip_insee_ships_loads_as_the_csv_does(db, write_stock):
    establishments, legal_units = write_stock(rows=40, zipped=True)

    outcome = importer.load(establishments, legal_units)

    assert outcome.establishments.rows == 40 and outcome.legal_units.rows == 40
    # The stock's date is the one the archive gives its file.
    with zipfile.ZipFile(establishments) as archive:
        assert outcome.stock.stock_date == date(*archive.infolist()[0].date_time[:3])


def test_a_new_stock_replaces_the_old_one_whole(db, write_stock):
    load_sample()
    establishments, legal_units = write_stock(rows=290)

    importer.load(establishments, legal_units, stock_date=date(2026, 12, 1))

    assert list(Stock.objects.values_list("state", "stock_date").order_by("stock_date")) == [
        (Stock.State.REPLACED, STOCK_DATE),
        (Stock.State.CURRENT, date(2026, 12, 1)),
    ]
    # The replaced stock's rows are gone; the new one answers.
    assert Establishment.objects.count() == LegalUnit.objects.count() == 290
    assert look_up(LISTED).stock_date == date(2026, 12, 1)
    assert look_up(rows_of(ESTABLISHMENTS)[-1][2]) == Unlisted(rows_of(ESTABLISHMENTS)[-1][2], date(2026, 12, 1))


def test_malformed_rows_are_set_aside_and_reported_by_line(db, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    at = {name: header.index(name) for name in header}
    bad_key = list(rows[5])
    bad_key[at["siret"]] = bad_key[at["siret"]][:-1] + str((int(bad_key[at["siret"]][-1]) + 1) % 10)
    bad_key[at["nic"]] = bad_key[at["siret"]][9:]
    bad_state = list(rows[6])
    bad_state[at["etatAdministratifEtablissement"]] = "X"
    short = rows[7][:10]
    establishments = write_rows(tmp_path / "e.csv", [header, *rows[:5], bad_key, bad_state, short, *rows[8:]])

    outcome = importer.load(establishments, str(LEGAL_UNITS), stock_date=STOCK_DATE)

    assert outcome.establishments.rows == 297 and outcome.establishments.malformed == 3
    assert [where for where, _ in outcome.establishments.examples] == ["ligne 7", "ligne 8", "ligne 9"]
    reasons = [reason for _, reason in outcome.establishments.examples]
    assert "clé de contrôle fausse" in reasons[0]
    assert "état administratif « X » inconnu" in reasons[1]
    assert reasons[2] == f"10 colonnes au lieu de {len(header)}"
    assert "ligne 7 : SIRET" in "\n".join(outcome.lines())
    assert Stock.objects.get().malformed == 3


@pytest.fixture
def in_service(db):
    """The sample in service: what every failure below must leave as it was."""
    stock = load_sample().stock
    yield stock
    stock.refresh_from_db()
    assert stock.state == Stock.State.CURRENT
    assert Establishment.objects.filter(stock=stock).count() == 300
    assert not Establishment.objects.exclude(stock=stock).exists()
    assert not LegalUnit.objects.exclude(stock=stock).exists()
    assert look_up(LISTED).name == "EARL DU PLATEAU"


def test_a_wrong_header_stops_before_anything_is_written(in_service, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    renamed = ["numero" if name == "siret" else name for name in header]
    establishments = write_rows(tmp_path / "e.csv", [renamed, *rows])

    with pytest.raises(importer.ImportFailed, match="il manque à son en-tête les colonnes siret"):
        importer.load(establishments, str(LEGAL_UNITS))
    assert Stock.objects.count() == 1


def test_the_two_files_swapped_are_told_so(in_service):
    with pytest.raises(importer.ImportFailed, match="les deux ont-ils été inversés"):
        importer.load(str(LEGAL_UNITS), str(ESTABLISHMENTS), stock_date=STOCK_DATE)


def test_a_semicolon_file_is_told_the_separator(in_service, tmp_path):
    with open(ESTABLISHMENTS, encoding="utf-8") as stream:
        text = stream.read().replace(",", ";")
    (tmp_path / "e.csv").write_text(text, encoding="utf-8")

    with pytest.raises(importer.ImportFailed, match="séparées par des virgules"):
        importer.load(str(tmp_path / "e.csv"), str(LEGAL_UNITS))


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", b""],
    ids=["pdf", "png", "empty"],
)
def test_a_file_that_is_neither_csv_nor_zip_is_refused(in_service, tmp_path, content):
    (tmp_path / "e.csv").write_bytes(content)

    with pytest.raises(importer.ImportFailed, match=r"Établissements : (ce n'est|le fichier est vide|le début du)"):
        importer.load(str(tmp_path / "e.csv"), str(LEGAL_UNITS))


def test_a_missing_file_is_named(in_service, tmp_path):
    with pytest.raises(importer.ImportFailed, match=r"absent\.zip est introuvable"):
        importer.load(str(tmp_path / "absent.zip"), str(LEGAL_UNITS))


def test_a_truncated_zip_fails_and_leaves_the_stock_in_service(in_service, write_stock):
    establishments, legal_units = write_stock(rows=3000, zipped=True)
    with open(establishments, "rb") as stream:
        whole = stream.read()
    with open(establishments, "wb") as stream:
        stream.write(whole[: len(whole) // 2])

    with pytest.raises(importer.ImportFailed, match="ZIP"):
        importer.load(establishments, legal_units)


def test_a_zip_whose_data_is_damaged_fails_midway_and_leaves_the_stock_in_service(in_service, write_stock):
    """The archive's directory is whole, its compressed data not: the failure comes while rows are written."""
    establishments, legal_units = write_stock(rows=3000, zipped=True)
    with open(establishments, "r+b") as stream:
        whole = bytearray(stream.read())
        middle = len(whole) // 2
        whole[middle : middle + 64] = bytes(64)
        stream.seek(0)
        stream.write(whole)

    with pytest.raises(importer.ImportFailed, match="tronquée ou abîmée"):
        importer.load(establishments, legal_units)
    assert Stock.objects.filter(state=Stock.State.FAILED).count() == 1


def test_a_windows_1252_file_fails_with_the_line_and_leaves_the_stock_in_service(in_service, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    city = header.index("libelleCommuneEtablissement")
    rows[150][city] = "SAINT-ÉTIENNE"
    establishments = write_rows(tmp_path / "e.csv", [header, *rows], encoding="cp1252")

    with pytest.raises(importer.ImportFailed, match="n'est pas encodé en UTF-8") as failure:
        importer.load(establishments, str(LEGAL_UNITS), stock_date=STOCK_DATE)
    assert "après la ligne" in str(failure.value)


def test_an_interruption_leaves_the_stock_in_service(in_service, write_stock):
    def interrupt(progress):
        if not progress.stage:  # while rows are written
            raise KeyboardInterrupt

    establishments, legal_units = write_stock(rows=20)
    with pytest.raises(KeyboardInterrupt):
        importer.load(establishments, legal_units, stock_date=STOCK_DATE, progress=interrupt)
    assert Stock.objects.filter(state=Stock.State.FAILED).count() == 1


def test_progress_says_rows_and_how_much_is_read(db, write_stock):
    seen = []
    establishments, legal_units = write_stock(rows=2500)

    importer.load(establishments, legal_units, stock_date=STOCK_DATE, progress=seen.append)

    seen = [progress for progress in seen if not progress.stage]
    assert seen[-1].label == "Unités légales" and seen[-1].rows == 2500
    assert [p.rows for p in seen if p.label == "Établissements"][-1] == 2500
    assert seen[-1].fraction == pytest.approx(1.0)


def test_the_command_reports_and_fails_clearly(db, tmp_path, capsys):
    out = io.StringIO()
    call_command(
        "import_sirene",
        etablissements=str(ESTABLISHMENTS),
        unites_legales=str(LEGAL_UNITS),
        date=STOCK_DATE,
        stdout=out,
        stderr=io.StringIO(),
    )
    assert "Stock SIRENE du 01/11/2026 en service." in out.getvalue()
    assert "Établissements : 300 lignes chargées, 0 écartée." in out.getvalue()

    (tmp_path / "e.csv").write_text("nom,prenom\nMartin,Jeanne\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Le répertoire en service n'a pas changé"):
        call_command("import_sirene", "--etablissements", str(tmp_path / "e.csv"), "--unites-legales", str(LEGAL_UNITS))


@pytest.mark.usefixtures("postgresql_only")
def test_on_postgresql_rows_are_copied(write_stock):
    establishments, legal_units = write_stock(rows=1200, zipped=True)

    outcome = importer.load(establishments, legal_units)

    assert outcome.establishments.rows == 1200
    assert Establishment.objects.filter(stock=outcome.stock).count() == 1200


@pytest.mark.usefixtures("postgresql_only")
def test_a_second_import_meanwhile_is_refused(write_stock):
    establishments, legal_units = write_stock(rows=10)
    other = connections.create_connection("default")  # another session, holding the import's lock
    other.cursor().execute("SELECT pg_advisory_lock(%s)", [importer.LOCK_KEY])
    try:
        with pytest.raises(importer.ImportFailed, match="Un autre import"):
            importer.load(establishments, legal_units, stock_date=STOCK_DATE)
    finally:
        other.close()
    assert not Stock.objects.exists()


@pytest.mark.usefixtures("postgresql_only")
def test_readers_see_one_stock_or_the_other_while_it_is_replaced(write_stock):
    """The portal reads while a new stock loads and goes in service: each answer is whole, from one stock."""
    load_sample()
    establishments, legal_units = write_stock(rows=4000)
    answers, errors, done = [], [], threading.Event()

    def read():
        try:
            while not done.is_set():
                answers.append(look_up(LISTED))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    try:
        importer.load(establishments, legal_units, stock_date=date(2026, 12, 1))
    finally:
        done.set()
        reader.join()

    assert not errors
    assert {answer.stock_date for answer in answers} <= {STOCK_DATE, date(2026, 12, 1)}
    assert all(answer.name == "EARL DU PLATEAU" for answer in answers)
    assert look_up(LISTED).stock_date == date(2026, 12, 1)


def test_a_stock_that_does_not_look_whole_stays_out_of_service_unless_forced(in_service, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    truncated = write_rows(tmp_path / "e.csv", [header, *rows[:150]])

    with pytest.raises(importer.ImportFailed, match="150 lignes chargées, contre 300 dans le stock en service"):
        importer.load(truncated, str(LEGAL_UNITS), stock_date=date(2026, 12, 1))
    assert Stock.objects.filter(state=Stock.State.FAILED).count() == 1


def test_forced_a_smaller_stock_goes_in_service(db, tmp_path):
    load_sample()
    header, *rows = rows_of(ESTABLISHMENTS)
    truncated = write_rows(tmp_path / "e.csv", [header, *rows[:150]])

    outcome = importer.load(truncated, str(LEGAL_UNITS), stock_date=date(2026, 12, 1), force=True)

    assert outcome.stock.state == Stock.State.CURRENT and Establishment.objects.count() == 150


def test_a_shifted_header_sets_every_row_aside_and_changes_nothing(in_service, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    establishments = write_rows(tmp_path / "e.csv", [[*header, "colonneEnTrop"], *rows])

    with pytest.raises(
        importer.ImportFailed, match=r"aucune ligne n'a pu être chargée\. ligne 2 : 53 colonnes au lieu de 54"
    ):
        importer.load(establishments, str(LEGAL_UNITS), stock_date=date(2026, 12, 1))


def test_too_many_rows_set_aside_stop_the_swap(in_service, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    siret = header.index("siret")
    damaged = [
        [*row[:siret], row[siret][:-1] + "x", *row[siret + 1 :]] if i % 20 == 0 else row for i, row in enumerate(rows)
    ]
    establishments = write_rows(tmp_path / "e.csv", [header, *damaged])

    with pytest.raises(importer.ImportFailed, match="15 lignes sur 300 ont été écartées"):
        importer.load(establishments, str(LEGAL_UNITS), stock_date=date(2026, 12, 1))


def test_an_older_stock_is_refused_unless_forced(in_service):
    with pytest.raises(importer.ImportFailed, match="plus ancien que celui en service"):
        load_sample(stock_date=date(2026, 10, 1))


def test_a_csv_needs_its_date(in_service):
    with pytest.raises(importer.ImportFailed, match="Précisez la date du stock avec --date"):
        importer.load(str(ESTABLISHMENTS), str(LEGAL_UNITS))


def test_two_archives_of_different_months_are_refused(in_service, write_stock):
    establishments, legal_units = write_stock(rows=300, zipped=True)
    with zipfile.ZipFile(legal_units) as archive:
        [member] = archive.infolist()
        content = archive.read(member)
    with zipfile.ZipFile(legal_units, "w") as archive:
        archive.writestr(zipfile.ZipInfo(member.filename, date_time=(2026, 10, 1, 0, 0, 0)), content)

    with pytest.raises(importer.ImportFailed, match="ne sont pas du même stock"):
        importer.load(establishments, legal_units)


def test_a_nul_byte_or_an_unclosed_quote_is_set_aside_by_its_lines(db, tmp_path):
    header, *rows = rows_of(ESTABLISHMENTS)
    city = header.index("libelleCommuneEtablissement")
    rows[3][city] = "CRE\x00ST"
    establishments = write_rows(tmp_path / "e.csv", [header, *rows[:100]])
    with open(establishments, "a", encoding="utf-8") as stream:
        stream.write('1,"unclosed\n2,3"\n')  # lines 102 and 103: one record
    write_rows(tmp_path / "rest.csv", rows[100:])
    with open(establishments, "a", encoding="utf-8") as stream:
        stream.write((tmp_path / "rest.csv").read_text(encoding="utf-8"))

    outcome = importer.load(establishments, str(LEGAL_UNITS), stock_date=STOCK_DATE)

    examples = dict(outcome.establishments.examples)
    assert "contient un caractère nul" in examples["ligne 5"]
    assert "guillemet non refermé" in examples["lignes 102 à 103"]
    assert outcome.establishments.rows == 299 and outcome.establishments.malformed == 3


def test_a_file_cut_in_the_middle_of_a_line_is_refused_as_truncated(db, tmp_path):
    text = ESTABLISHMENTS.read_text(encoding="utf-8")
    cut = tmp_path / "e.csv"
    cut.write_text(text[: len(text) // 2], encoding="utf-8")

    with pytest.raises(importer.ImportFailed, match="la dernière ligne du fichier est incomplète"):
        importer.load(str(cut), str(LEGAL_UNITS), stock_date=STOCK_DATE)
    failed = Stock.objects.get()
    assert failed.state == Stock.State.FAILED and "dernière ligne" in failed.report and failed.rows_deleted
    assert not Establishment.objects.exists()


@pytest.mark.parametrize("seed", range(5))
def test_the_inline_key_check_agrees_with_python_stdnum(seed):
    import random

    from stdnum.fr import siret as stdnum_siret

    from tests.factories import make_siret

    rng = random.Random(seed)
    numbers = [make_siret(rng) for _ in range(200)]
    numbers += ["".join(rng.choice("0123456789") for _ in range(14)) for _ in range(2000)]
    numbers += ["35600000000048", "35600000049837", "35600000012345"]  # La Poste's establishments
    for number in numbers:
        assert importer.siret_key_is_right(number) == stdnum_siret.is_valid(number), number


def test_a_second_import_meanwhile_is_refused_on_sqlite_too(in_service, tmp_path):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's advisory lock is tested above")
    with importer._single_import(), pytest.raises(importer.ImportFailed, match="Un autre import"):
        load_sample(stock_date=date(2026, 12, 1))


def test_an_interruption_once_in_service_keeps_the_new_stock_in_service(db, monkeypatch):
    """Ctrl-C while the structures are marked: the stock is in service all the same, and the command says what was
    left for the next import."""
    StructureFactory(siret=LISTED)

    def interrupted(structures, stock):
        raise KeyboardInterrupt

    monkeypatch.setattr(receivers, "_mark", interrupted)
    outcome = load_sample()

    assert outcome.leftovers and "Interrompu après la mise en service" in "\n".join(outcome.lines())
    assert Stock.objects.get().state == Stock.State.CURRENT and Establishment.objects.count() == 300
    assert look_up(LISTED).name == "EARL DU PLATEAU"
