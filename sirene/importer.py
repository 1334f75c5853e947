"""Loading INSEE's stock files (`StockEtablissement`, `StockUniteLegale`) into a new `Stock`, then putting it in
service in place of the one before.

The files are read as a stream (CSV, or the ZIP INSEE ships, read without unpacking it), by header name,
ignoring the columns the portal does not need. Both headers are checked before anything is written: a file of
the wrong kind stops there. Rows are written beside the stock in service (PostgreSQL by COPY, other databases
in batches), so the portal goes on reading the old stock while the new one loads; a malformed row is set aside
and reported by its line number; any failure (a truncated archive, a file not in UTF-8, an interruption)
deletes what the new stock had written and leaves the stock in service as it was. Putting the new stock in
service is one short transaction, which tells the structures (`signals.stock_replaced`); the replaced stock's
rows go after it.
"""

import csv
import io
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from sirene.models import Establishment, LegalUnit, Stock
from sirene.signals import stock_replaced

BATCH = 5_000
REPORTED_LINES = 20
# An advisory lock's key, so that two imports never run at once on PostgreSQL (« SIRE » in ASCII).
LOCK_KEY = 0x53495245

# Every column the portal reads, by INSEE's header name. Other columns are ignored.
ESTABLISHMENT_COLUMNS = [
    "siren",
    "nic",
    "siret",
    "statutDiffusionEtablissement",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
    "complementAdresseEtablissement",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "activitePrincipaleEtablissement",
    "etablissementSiege",
]
LEGAL_UNIT_COLUMNS = [
    "siren",
    "statutDiffusionUniteLegale",
    "etatAdministratifUniteLegale",
    "denominationUniteLegale",
    "nomUniteLegale",
    "nomUsageUniteLegale",
    "prenom1UniteLegale",
    "prenomUsuelUniteLegale",
    "categorieJuridiqueUniteLegale",
]
# Where the text columns go, in the files' terms.
ESTABLISHMENT_TEXT = {
    "enseigne1Etablissement": "sign",
    "denominationUsuelleEtablissement": "usual_name",
    "complementAdresseEtablissement": "address_complement",
    "numeroVoieEtablissement": "street_number",
    "indiceRepetitionEtablissement": "repetition_index",
    "typeVoieEtablissement": "street_type",
    "libelleVoieEtablissement": "street_name",
    "codePostalEtablissement": "postal_code",
    "libelleCommuneEtablissement": "city",
    "activitePrincipaleEtablissement": "activity",
}
LEGAL_UNIT_TEXT = {
    "denominationUniteLegale": "denomination",
    "nomUniteLegale": "last_name",
    "nomUsageUniteLegale": "usage_name",
    "prenom1UniteLegale": "first_name",
    "prenomUsuelUniteLegale": "usual_first_name",
    "categorieJuridiqueUniteLegale": "legal_category",
}
DIFFUSIONS = {"O": "O", "P": "P", "N": "P"}
HEAD_OFFICE = {"true": True, "false": False}


def figure(number: float) -> str:
    """« 1 250 000 », as French writes numbers (a space between thousands)."""
    return f"{round(number):,}".replace(",", "\u202f")


class ImportFailed(Exception):
    """The import stopped; the stock in service, if any, is as it was. The message says why, in French."""


class Malformed(ValueError):
    """A row set aside, with the reason."""


@dataclass
class FileReport:
    label: str
    rows: int = 0
    malformed: int = 0
    examples: list[tuple[int, str]] = field(default_factory=list)

    def set_aside(self, line: int, reason: str) -> None:
        self.malformed += 1
        if len(self.examples) < REPORTED_LINES:
            self.examples.append((line, reason))

    def lines(self) -> list[str]:
        text = [f"{self.label} : {figure(self.rows)} lignes chargées, {figure(self.malformed)} écartées."]
        text += [f"  ligne {line} : {reason}" for line, reason in self.examples]
        if self.malformed > len(self.examples):
            text.append(f"  … et {self.malformed - len(self.examples)} autres lignes écartées.")
        return text


@dataclass
class Progress:
    """Where a load stands, for the progress line: rows so far, and the share of the files' bytes read."""

    label: str
    rows: int
    elapsed: float
    fraction: float


class StockFile:
    """One stock file opened for reading, CSV or ZIP, its header checked against the columns the portal needs."""

    def __init__(self, path: str, *, label: str, columns: list[str], other_kind: str):
        self.path = Path(path)
        self.label = label
        try:
            self.raw = self.path.open("rb")
            self.size = self.path.stat().st_size
        except OSError as error:
            raise ImportFailed(f"{label} : impossible d'ouvrir {path} ({error.strerror or error}).") from None
        try:
            self.stream, self.written_on = self._open()
            self.rows = csv.reader(io.TextIOWrapper(self.stream, encoding="utf-8-sig", newline=""))
            self.header = self._header(columns, other_kind)
        except BaseException:
            self.close()
            raise
        self.positions = {name: self.header.index(name) for name in columns}

    def _open(self):
        """The CSV's byte stream and the date its archive gives it (`None` for a plain CSV)."""
        if not zipfile.is_zipfile(self.raw):
            self.raw.seek(0)
            return self.raw, None
        try:
            archive = zipfile.ZipFile(self.raw)
            members = [member for member in archive.infolist() if member.filename.lower().endswith(".csv")]
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise ImportFailed(f"{self.label} : l'archive ZIP est illisible ou tronquée ({error}).") from None
        if len(members) != 1:
            raise ImportFailed(
                f"{self.label} : l'archive ZIP doit contenir un seul fichier CSV, comme celles d'INSEE ; "
                f"elle en contient {len(members)}."
            )
        try:
            return archive.open(members[0]), date(*members[0].date_time[:3])
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise ImportFailed(f"{self.label} : l'archive ZIP est illisible ou tronquée ({error}).") from None

    def _header(self, columns: list[str], other_kind: str) -> list[str]:
        try:
            header = next(self.rows)
        except StopIteration:
            raise ImportFailed(f"{self.label} : le fichier est vide.") from None
        except (UnicodeDecodeError, csv.Error, zipfile.BadZipFile, EOFError, zlib.error, OSError):
            raise ImportFailed(
                f"{self.label} : ce n'est ni un fichier CSV en UTF-8 ni une archive ZIP du stock SIRENE."
            ) from None
        header = [name.strip() for name in header]
        missing = [name for name in columns if name not in header]
        if missing:
            hint = ""
            if len(header) == 1 and ";" in header[0]:
                hint = " Les colonnes doivent être séparées par des virgules, comme dans les fichiers d'INSEE."
            elif other_kind and other_kind in header:
                hint = " Ce fichier semble être l'autre fichier du stock : les deux ont-ils été inversés ?"
            raise ImportFailed(
                f"{self.label} : ce n'est pas le fichier attendu du stock SIRENE ; il manque à son en-tête les "
                f"colonnes {', '.join(missing)}.{hint} Le répertoire en service n'a pas changé."
            )
        return header

    def position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def records(self, report: FileReport) -> Iterator[tuple[int, list[str]]]:
        """(line number, values) of each record; a record that CSV cannot read is set aside."""
        width = len(self.header)
        while True:
            try:
                values = next(self.rows)
            except StopIteration:
                return
            except csv.Error as error:
                report.set_aside(self.rows.line_num, f"ligne CSV illisible ({error})")
                continue
            except UnicodeDecodeError:
                raise ImportFailed(
                    f"{self.label}, vers la ligne {self.rows.line_num + 1} : le fichier n'est pas encodé en UTF-8 "
                    "(Windows-1252 ?). INSEE publie ses stocks en UTF-8 : téléchargez-le à nouveau ou "
                    "convertissez-le. Le répertoire en service n'a pas changé."
                ) from None
            except (zipfile.BadZipFile, EOFError, zlib.error) as error:
                raise ImportFailed(
                    f"{self.label}, vers la ligne {self.rows.line_num + 1} : l'archive ZIP est tronquée ou abîmée "
                    f"({error}). Le répertoire en service n'a pas changé."
                ) from None
            if not values:
                continue
            if len(values) != width:
                report.set_aside(self.rows.line_num, f"{len(values)} colonnes au lieu de {width}")
                continue
            yield self.rows.line_num, values

    def close(self) -> None:
        self.raw.close()


def _text_columns(model, mapping: dict[str, str]) -> list[tuple[str, int]]:
    """(column, longest value allowed) of each text column, in `mapping`'s order."""
    return [(column, model._meta.get_field(name).max_length) for column, name in mapping.items()]


class EstablishmentRows:
    model = Establishment
    fields = ["stock", "siret", "diffusion", "state", "head_office", *ESTABLISHMENT_TEXT.values()]

    def __init__(self, positions: dict[str, int]):
        self.at = positions
        self.text = [
            (positions[column], column, limit) for column, limit in _text_columns(Establishment, ESTABLISHMENT_TEXT)
        ]

    def row(self, stock_id: int, values: list[str]) -> tuple:
        at = self.at
        siret = values[at["siret"]].strip()
        if not (len(siret) == 14 and siret.isdigit()):
            raise Malformed(f"SIRET « {siret[:20]} » : 14 chiffres attendus")
        if siret != values[at["siren"]].strip() + values[at["nic"]].strip():
            raise Malformed(f"SIRET {siret} : ce n'est pas le SIREN suivi du NIC")
        if not stdnum_siret.is_valid(siret):
            raise Malformed(f"SIRET {siret} : clé de contrôle fausse")
        state = values[at["etatAdministratifEtablissement"]].strip()
        if state not in ("A", "F"):
            raise Malformed(f"SIRET {siret} : état administratif « {state[:10]} » inconnu (A ou F)")
        diffusion = DIFFUSIONS.get(values[at["statutDiffusionEtablissement"]].strip())
        if diffusion is None:
            raise Malformed(f"SIRET {siret} : statut de diffusion inconnu (O ou P)")
        head_office = HEAD_OFFICE.get(values[at["etablissementSiege"]].strip().lower())
        if head_office is None:
            raise Malformed(f"SIRET {siret} : etablissementSiege vaut true ou false")
        return (stock_id, siret, diffusion, state, head_office, *_texts(values, self.text, siret))


class LegalUnitRows:
    model = LegalUnit
    fields = ["stock", "siren", "diffusion", "state", *LEGAL_UNIT_TEXT.values()]

    def __init__(self, positions: dict[str, int]):
        self.at = positions
        self.text = [(positions[column], column, limit) for column, limit in _text_columns(LegalUnit, LEGAL_UNIT_TEXT)]

    def row(self, stock_id: int, values: list[str]) -> tuple:
        at = self.at
        siren = values[at["siren"]].strip()
        if not (len(siren) == 9 and siren.isdigit()):
            raise Malformed(f"SIREN « {siren[:20]} » : 9 chiffres attendus")
        if not stdnum_siren.is_valid(siren):
            raise Malformed(f"SIREN {siren} : clé de contrôle fausse")
        state = values[at["etatAdministratifUniteLegale"]].strip()
        if state not in ("A", "C"):
            raise Malformed(f"SIREN {siren} : état administratif « {state[:10]} » inconnu (A ou C)")
        diffusion = DIFFUSIONS.get(values[at["statutDiffusionUniteLegale"]].strip())
        if diffusion is None:
            raise Malformed(f"SIREN {siren} : statut de diffusion inconnu (O ou P)")
        return (stock_id, siren, diffusion, state, *_texts(values, self.text, siren))


def _texts(values: list[str], columns: list[tuple[int, str, int]], key: str) -> list[str]:
    texts = []
    for position, column, limit in columns:
        value = values[position].strip()
        if len(value) > limit:
            raise Malformed(f"{key} : {column} dépasse {limit} caractères")
        texts.append(value)
    return texts


@dataclass
class Outcome:
    stock: Stock
    establishments: FileReport
    legal_units: FileReport
    duplicates: int

    def lines(self) -> list[str]:
        text = [f"Stock SIRENE du {self.stock.stock_date:%d/%m/%Y} en service."]
        text += self.establishments.lines() + self.legal_units.lines()
        if self.duplicates:
            text.append(f"{self.duplicates} SIRET figurent plusieurs fois dans le fichier des établissements.")
        return text


def load(
    establishments: str,
    legal_units: str,
    *,
    stock_date: date | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Outcome:
    """Loads the two files into a new stock and puts it in service, or raises `ImportFailed` having changed nothing
    the portal reads."""
    files = []
    try:
        files.append(
            StockFile(
                establishments,
                label="Établissements",
                columns=ESTABLISHMENT_COLUMNS,
                other_kind="denominationUniteLegale",
            )
        )
        files.append(StockFile(legal_units, label="Unités légales", columns=LEGAL_UNIT_COLUMNS, other_kind="siret"))
        with _single_import():
            return _load(*files, stock_date=stock_date, progress=progress)
    finally:
        for stock_file in files:
            stock_file.close()


class _single_import:
    """On PostgreSQL, a session advisory lock: a second import started meanwhile stops at once."""

    def __enter__(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                if not cursor.fetchone()[0]:
                    raise ImportFailed("Un autre import du répertoire SIRENE est en cours : attendez qu'il finisse.")
        return self

    def __exit__(self, *exc):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _load(establishments: StockFile, legal_units: StockFile, *, stock_date, progress) -> Outcome:
    _discard_unfinished()
    written_on = stock_date or establishments.written_on or _modified_on(establishments.path)
    stock = Stock.objects.create(
        stock_date=written_on,
        establishments_file=establishments.path.name,
        legal_units_file=legal_units.path.name,
    )
    reports = FileReport("Établissements"), FileReport("Unités légales")
    clock = _Clock(progress, total_bytes=establishments.size + legal_units.size)
    try:
        _write(stock, establishments, EstablishmentRows(establishments.positions), reports[0], clock)
        clock.done_bytes = establishments.size
        _write(stock, legal_units, LegalUnitRows(legal_units.positions), reports[1], clock)
        duplicates = _duplicated_sirets(stock)
        _put_in_service(stock, reports)
    except BaseException:
        _discard(stock)
        raise
    _delete_replaced()
    return Outcome(stock, *reports, duplicates=duplicates)


def _modified_on(path: Path) -> date:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.get_current_timezone()).date()


class _Clock:
    """Calls `progress` about once a second."""

    def __init__(self, progress, *, total_bytes: int):
        self.progress = progress
        self.total_bytes = max(total_bytes, 1)
        self.done_bytes = 0
        self.started = time.monotonic()
        self.last = 0.0

    def tick(self, label: str, rows: int, stock_file: StockFile, *, final: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (now - self.last < 1 and not final):
            return
        self.last = now
        fraction = min((self.done_bytes + stock_file.position()) / self.total_bytes, 1.0)
        self.progress(Progress(label, rows, now - self.started, fraction))


def _write(stock: Stock, stock_file: StockFile, kind, report: FileReport, clock: _Clock) -> None:
    """Every well-formed row of `stock_file` into `kind.model`'s table, under `stock`."""
    table = kind.model._meta.db_table
    columns = [kind.model._meta.get_field(name).column for name in kind.fields]

    def rows():
        for line, values in stock_file.records(report):
            try:
                yield kind.row(stock.pk, values)
            except Malformed as reason:
                report.set_aside(line, str(reason))
                continue
            report.rows += 1
            if report.rows % 1000 == 0:
                clock.tick(stock_file.label, report.rows, stock_file)

    if connection.vendor == "postgresql":
        _copy(table, columns, rows())
    else:
        _insert(table, columns, rows())
    clock.tick(stock_file.label, report.rows, stock_file, final=True)
    counter = "establishments" if kind.model is Establishment else "legal_units"
    Stock.objects.filter(pk=stock.pk).update(**{counter: report.rows})


def _copy(table: str, columns: list[str], rows) -> None:
    quote = connection.ops.quote_name
    statement = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert(table: str, columns: list[str], rows) -> None:
    """In batches, each its own transaction: the portal's writes go on between them (SQLite has one writer)."""
    quote = connection.ops.quote_name
    # The model's own table and columns, quoted.
    statement = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(column) for column in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            _insert_batch(statement, batch)
            batch = []
    if batch:
        _insert_batch(statement, batch)


def _insert_batch(statement: str, batch: list[tuple]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(statement, batch)


def _duplicated_sirets(stock: Stock) -> int:
    return (
        Establishment.objects.filter(stock=stock)
        .values("siret")
        .annotate(times=Count("pk"))
        .filter(times__gt=1)
        .count()
    )


def _put_in_service(stock: Stock, reports: tuple[FileReport, FileReport]) -> None:
    with transaction.atomic():
        list(Stock.objects.select_for_update().filter(state=Stock.State.CURRENT))
        Stock.objects.filter(state=Stock.State.CURRENT).update(state=Stock.State.REPLACED)
        stock.state = Stock.State.CURRENT
        stock.finished_at = timezone.now()
        stock.establishments, stock.legal_units = reports[0].rows, reports[1].rows
        stock.malformed = reports[0].malformed + reports[1].malformed
        stock.report = "\n".join(reports[0].lines() + reports[1].lines())
        stock.save()
        stock_replaced.send(sender=Stock, stock=stock)


def _rows_of(stocks) -> None:
    """Deletes the stocks' rows. PostgreSQL deletes them in one statement, which no reader waits on; SQLite in
    batches, each its own transaction, so that the portal's writes are not held back for the whole of it."""
    for model in (Establishment, LegalUnit):
        rows = model.objects.filter(stock__in=stocks)
        if connection.vendor == "postgresql":
            rows.delete()
            continue
        while True:
            with transaction.atomic():
                deleted, _ = model.objects.filter(pk__in=list(rows.values_list("pk", flat=True)[:BATCH])).delete()
            if not deleted:
                break


def _delete_replaced() -> None:
    """The rows of the stocks no longer in service; the stocks themselves stay, as the imports' record."""
    _rows_of(Stock.objects.filter(state=Stock.State.REPLACED).values("pk"))


def _discard(stock: Stock) -> None:
    """What a failed import wrote goes; its stock is kept, marked failed."""
    if connection.in_atomic_block and connection.needs_rollback:
        return  # the caller's transaction is rolling back, the rows with it
    _rows_of([stock.pk])
    Stock.objects.filter(pk=stock.pk).update(state=Stock.State.FAILED, finished_at=timezone.now())


def _discard_unfinished() -> None:
    """An import interrupted before it could clean up (a killed process) left a stock loading: its rows go."""
    unfinished = Stock.objects.filter(state=Stock.State.LOADING)
    _rows_of(unfinished.values("pk"))
    unfinished.update(state=Stock.State.FAILED, finished_at=timezone.now())
