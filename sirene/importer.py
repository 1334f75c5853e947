"""Loading INSEE's stock files (`StockEtablissement`, `StockUniteLegale`) into a new `Stock`, then putting it in
service in place of the one before.

The files are read as a stream (CSV, or the ZIP INSEE ships, read without unpacking it), by header name,
ignoring the columns the portal does not need. Both headers are checked before anything is written: a file of
the wrong kind stops there. Rows are written beside the stock in service (PostgreSQL by COPY, other databases
in batches), so the portal goes on reading the old stock while the new one loads; a malformed row is set aside
and reported by its line number; any failure (a truncated archive, a file not in UTF-8, an interruption)
deletes what the new stock had written and leaves the stock in service as it was. Putting the new stock in
service is one short transaction; then the structures are told (`signals.stock_replaced`), and the replaced
stock's rows go.

Before that swap, the new stock must look whole: both files loaded rows, at most 1 % of the records were set
aside, and neither file lost more than a tenth of the rows of the stock in service (a truncated download or a
shifted column would otherwise mark most structures absent). `force=True` (`--force`) swaps it in anyway. A
stock older than the one in service is refused likewise.
"""

import csv
import fcntl
import hashlib
import io
import os
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.db import connection, transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from chorus.templatetags.ui import decimal_fr
from sirene.models import Establishment, LegalUnit, Stock
from sirene.signals import stock_replaced

BATCH = 5_000
# SQLite deletes a replaced stock's rows this many at a time: each batch holds the write lock about half a second.
DELETE_BATCH = 50_000
REPORTED_LINES = 20
# What a whole stock looks like: few records set aside, and about as many rows as the one before.
MAX_SET_ASIDE = 0.01
MIN_SHARE_OF_PREVIOUS = 0.9
UNCHANGED = "Le répertoire en service n'a pas changé."
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
    """« 1 250 000 », as French writes numbers (the portal's own `decimal_fr`, rounded to a whole number)."""
    return decimal_fr(round(number))


def plural(number: int, one: str, several: str) -> str:
    return f"{figure(number)} {one if number < 2 else several}"


class ImportFailed(Exception):
    """The import stopped; the stock in service, if any, is as it was. The message says why, in French."""


class Malformed(ValueError):
    """A row set aside, with the reason."""


@dataclass
class FileReport:
    label: str
    rows: int = 0
    malformed: int = 0
    examples: list[tuple[str, str]] = field(default_factory=list)
    # The file's last record was set aside: a download cut short ends in the middle of a line.
    ends_short: bool = False

    def set_aside(self, line: int, reason: str, *, last_line: int | None = None) -> None:
        """A record set aside; one that ran over several lines (an unclosed quote) counts each of them."""
        lines = 1 if last_line is None else last_line - line + 1
        self.malformed += lines
        if len(self.examples) < REPORTED_LINES:
            where = f"ligne {line}" if lines == 1 else f"lignes {line} à {last_line}"
            self.examples.append((where, reason))

    @property
    def records(self) -> int:
        return self.rows + self.malformed

    def lines(self) -> list[str]:
        text = [
            f"{self.label} : {plural(self.rows, 'ligne chargée', 'lignes chargées')}, {figure(self.malformed)} "
            f"{'écartée' if self.malformed < 2 else 'écartées'}."
        ]
        text += [f"  {where} : {reason}" for where, reason in self.examples]
        if len(self.examples) == REPORTED_LINES:
            text.append("  … (les autres lignes écartées ne sont pas détaillées)")
        return text


@dataclass
class Progress:
    """Where a load stands, for the progress line: rows so far, and the share of the files' bytes read."""

    label: str
    rows: int
    elapsed: float  # seconds since this file's first row
    fraction: float  # of both files' bytes
    stage: str = ""  # after the rows: what the import does now
    final: bool = False  # a file's last line


class StockFile:
    """One stock file opened for reading, CSV or ZIP, its header checked against the columns the portal needs."""

    def __init__(self, path: str, *, label: str, columns: list[str], other_kind: str):
        self.path = Path(path)
        self.label = label
        try:
            self.raw = self.path.open("rb")
            self.size = self.path.stat().st_size
        except FileNotFoundError:
            raise ImportFailed(f"{label} : le fichier {path} est introuvable.") from None
        except IsADirectoryError:
            raise ImportFailed(f"{label} : {path} est un dossier, pas un fichier.") from None
        except PermissionError:
            raise ImportFailed(f"{label} : la lecture de {path} n'est pas permise.") from None
        except OSError as error:
            raise ImportFailed(f"{label} : impossible de lire {path} ({error}).") from None
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
            if self.raw.read(4) == b"PK\x03\x04":
                raise ImportFailed(
                    f"{self.label} : l'archive ZIP est tronquée (sa fin manque) : téléchargez-la à nouveau."
                )
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
        # NotImplementedError: a compression method or an encryption zipfile cannot read.
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as error:
            raise ImportFailed(f"{self.label} : l'archive ZIP est illisible ou tronquée ({error}).") from None

    def _header(self, columns: list[str], other_kind: str) -> list[str]:
        try:
            header = next(self.rows)
        except StopIteration:
            raise ImportFailed(f"{self.label} : le fichier est vide.") from None
        except UnicodeDecodeError:
            raise ImportFailed(
                f"{self.label} : le début du fichier n'est pas en UTF-8 (Windows-1252 ?), ou ce n'est pas un fichier "
                "CSV. INSEE publie ses stocks en UTF-8 : téléchargez-le à nouveau ou convertissez-le."
            ) from None
        except (csv.Error, zipfile.BadZipFile, EOFError, zlib.error, OSError):
            raise ImportFailed(
                f"{self.label} : ce n'est ni un fichier CSV en UTF-8 ni une archive ZIP du stock SIRENE."
            ) from None
        header = [name.strip() for name in header]
        missing = [name for name in columns if name not in header]
        if missing:
            if len(header) == 1 and ";" in header[0]:
                raise ImportFailed(
                    f"{self.label} : les colonnes doivent être séparées par des virgules, comme dans les fichiers "
                    "d'INSEE ; celles de ce fichier le sont par des points-virgules."
                )
            if other_kind and other_kind in header:
                raise ImportFailed(
                    f"{self.label} : ce fichier est l'autre fichier du stock : les deux ont-ils été inversés ? "
                    "(--etablissements StockEtablissement, --unites-legales StockUniteLegale)"
                )
            raise ImportFailed(
                f"{self.label} : ce n'est pas le fichier attendu du stock SIRENE ; il manque à son en-tête les "
                f"colonnes {', '.join(missing)}."
            )
        return header

    def position(self) -> int:
        try:
            return self.raw.tell()
        except (OSError, ValueError):
            return 0

    def records(self, report: FileReport) -> Iterator[tuple[int, list[str]]]:
        """(line number, values) of each record; a record that CSV cannot read, or that runs over several lines
        (INSEE's values hold no line break: an unclosed quote swallowed the lines after it), is set aside."""
        width = len(self.header)
        last_yielded = last_set_aside = 0
        while True:
            first_line = self.rows.line_num + 1
            try:
                values = next(self.rows)
            except StopIteration:
                report.ends_short = last_set_aside > last_yielded
                return
            except csv.Error as error:
                report.set_aside(first_line, f"ligne CSV illisible ({error})", last_line=self.rows.line_num)
                last_set_aside = self.rows.line_num
                continue
            except UnicodeDecodeError:
                raise ImportFailed(
                    f"{self.label}, après la ligne {self.rows.line_num} : le fichier n'est pas encodé en UTF-8 "
                    "(Windows-1252 ?). INSEE publie ses stocks en UTF-8 : téléchargez-le à nouveau ou "
                    "convertissez-le."
                ) from None
            except (zipfile.BadZipFile, EOFError, zlib.error) as error:
                raise ImportFailed(
                    f"{self.label}, après la ligne {self.rows.line_num} : l'archive ZIP est tronquée ou abîmée "
                    f"({error})."
                ) from None
            line = self.rows.line_num
            if line > first_line:
                report.set_aside(
                    first_line, "guillemet non refermé : ces lignes forment un seul enregistrement", last_line=line
                )
                last_set_aside = line
                continue
            if not values:
                continue
            if len(values) != width:
                report.set_aside(line, f"{len(values)} colonnes au lieu de {width}")
                last_set_aside = line
                continue
            last_yielded = line
            yield line, values

    def close(self) -> None:
        self.raw.close()


def _luhn(digits: str) -> bool:
    """The Luhn key of SIREN and SIRET, checked inline: python-stdnum's `is_valid` costs most of a row's time."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = ord(character) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


LA_POSTE = "356000000"
LA_POSTE_HEAD_OFFICE = "35600000000048"


def siret_key_is_right(siret: str) -> bool:
    """As `stdnum.fr.siret.is_valid` for 14 digits: the SIRET's key (La Poste's establishments, but its head office,
    have the sum of their digits a multiple of 5 instead), and the SIREN's."""
    if siret.startswith(LA_POSTE) and siret != LA_POSTE_HEAD_OFFICE:
        key_is_right = sum(ord(character) - 48 for character in siret) % 5 == 0
    else:
        key_is_right = _luhn(siret)
    return key_is_right and _luhn(siret[:9])


class _Rows:
    """A file's rows as tuples in `fields`' order, checked; `row` raises `Malformed` for one to set aside."""

    model: type
    fields: list[str]
    text_columns: dict[str, str]  # INSEE's header → the model's text field

    def __init__(self, positions: dict[str, int]):
        self.at = positions
        self.text = [
            (positions[column], column, self.model._meta.get_field(name).max_length)
            for column, name in self.text_columns.items()
        ]

    def state_and_diffusion(self, values: list[str], key: str, *, states: str, prefix: str) -> tuple[str, str]:
        """The administrative state (one of `states`) and the diffusion status (P for INSEE's older N)."""
        state = values[self.at[f"etatAdministratif{prefix}"]].strip()
        if state not in states:
            raise Malformed(f"{key} : état administratif « {state[:10]} » inconnu ({' ou '.join(states)})")
        diffusion = DIFFUSIONS.get(values[self.at[f"statutDiffusion{prefix}"]].strip())
        if diffusion is None:
            raise Malformed(f"{key} : statut de diffusion inconnu (O ou P)")
        return state, diffusion


class EstablishmentRows(_Rows):
    model = Establishment
    fields = ["stock", "siret", "diffusion", "state", "head_office", *ESTABLISHMENT_TEXT.values()]
    text_columns = ESTABLISHMENT_TEXT

    def row(self, stock_id: int, values: list[str]) -> tuple:
        at = self.at
        siret = values[at["siret"]].strip()
        if not (len(siret) == 14 and siret.isdigit()):
            raise Malformed(f"SIRET « {siret[:20]} » : 14 chiffres attendus")
        if siret != values[at["siren"]].strip() + values[at["nic"]].strip():
            raise Malformed(f"SIRET {siret} : ce n'est pas le SIREN suivi du NIC")
        if not siret_key_is_right(siret):
            raise Malformed(f"SIRET {siret} : clé de contrôle fausse")
        key = f"SIRET {siret}"
        state, diffusion = self.state_and_diffusion(values, key, states="AF", prefix="Etablissement")
        head_office = HEAD_OFFICE.get(values[at["etablissementSiege"]].strip().lower())
        if head_office is None:
            raise Malformed(f"{key} : etablissementSiege vaut true ou false")
        return (stock_id, siret, diffusion, state, head_office, *_texts(values, self.text, siret))


class LegalUnitRows(_Rows):
    model = LegalUnit
    fields = ["stock", "siren", "diffusion", "state", *LEGAL_UNIT_TEXT.values()]
    text_columns = LEGAL_UNIT_TEXT

    def row(self, stock_id: int, values: list[str]) -> tuple:
        siren = values[self.at["siren"]].strip()
        if not (len(siren) == 9 and siren.isdigit()):
            raise Malformed(f"SIREN « {siren[:20]} » : 9 chiffres attendus")
        if not _luhn(siren):
            raise Malformed(f"SIREN {siren} : clé de contrôle fausse")
        state, diffusion = self.state_and_diffusion(values, f"SIREN {siren}", states="AC", prefix="UniteLegale")
        return (stock_id, siren, diffusion, state, *_texts(values, self.text, siren))


def _texts(values: list[str], columns: list[tuple[int, str, int]], key: str) -> list[str]:
    texts = []
    for position, column, limit in columns:
        value = values[position].strip()
        if "\x00" in value:
            raise Malformed(f"{key} : {column} contient un caractère nul")
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
    # Interrupted once in service: some structures keep their marks, or the replaced stock's rows are not all deleted
    # (the next import deletes the rest).
    leftovers: bool = False

    def lines(self) -> list[str]:
        text = [f"Stock SIRENE du {self.stock.stock_date:%d/%m/%Y} en service."]
        text += self.establishments.lines() + self.legal_units.lines()
        if self.duplicates:
            text.append(
                f"{plural(self.duplicates, 'SIRET figure', 'SIRET figurent')} plusieurs fois dans le fichier des "
                "établissements."
            )
        if self.leftovers:
            text.append(
                "Interrompu après la mise en service : le marquage des structures ou la suppression des lignes du "
                "stock remplacé n'est pas allé à son terme ; le prochain import le terminera."
            )
        return text


def load(
    establishments: str,
    legal_units: str,
    *,
    stock_date: date | None = None,
    force: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> Outcome:
    """Loads the two files into a new stock and puts it in service, or raises `ImportFailed` having changed nothing
    the portal reads.

    `stock_date`: the stock's date; by default the one both archives give their file (a plain CSV has none to
    give). `force`: put the stock in service even if it does not look whole, or is older than the one in service.
    """
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
        written_on = stock_date or _date_of(*files)
        with _single_import():
            _refuse_older(written_on, force=force)
            return _load(*files, stock_date=written_on, force=force, progress=progress)
    finally:
        for stock_file in files:
            stock_file.close()


def _date_of(establishments: StockFile, legal_units: StockFile) -> date:
    """The date both archives give their file: INSEE writes the two files of a stock on the same day."""
    dates = {establishments.written_on, legal_units.written_on}
    if None in dates:
        raise ImportFailed(
            "Précisez la date du stock avec --date AAAA-MM-JJ : un fichier CSV ne la donne pas (une archive ZIP "
            "d'INSEE, si)."
        )
    if len(dates) > 1:
        raise ImportFailed(
            "Les deux archives ne sont pas du même stock : celle des établissements date du "
            f"{establishments.written_on:%d/%m/%Y}, celle des unités légales du {legal_units.written_on:%d/%m/%Y}. "
            "Téléchargez les deux fichiers du même mois, ou précisez --date si vous êtes sûr de leur accord."
        )
    return dates.pop()


def _refuse_older(stock_date: date, *, force: bool) -> None:
    current = Stock.objects.filter(state=Stock.State.CURRENT).first()
    if current and stock_date < current.stock_date and not force:
        raise ImportFailed(
            f"Le stock du {stock_date:%d/%m/%Y} est plus ancien que celui en service (stock du "
            f"{current.stock_date:%d/%m/%Y}). Ajoutez --force pour revenir à un stock ancien."
        )


class _single_import:
    """One import at a time: a second one started meanwhile stops at once. PostgreSQL: a session advisory lock;
    other databases: an exclusive lock on a file beside the database (`flock`, released if the process dies)."""

    def __enter__(self):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
                locked = cursor.fetchone()[0]
        else:
            database = str(connection.settings_dict["NAME"])
            if connection.is_in_memory_db():
                database += f"-{os.getpid()}"  # each process has its own: the same name is another database
            name = hashlib.sha256(database.encode()).hexdigest()[:16]
            self.lock_file = (Path(tempfile.gettempdir()) / f"sirene-import-{name}.lock").open("w")
            try:
                fcntl.flock(self.lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                self.lock_file.close()
                locked = False
        if not locked:
            raise ImportFailed("Un autre import du répertoire SIRENE est en cours : attendez qu'il finisse.")
        return self

    def __exit__(self, *exc):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        else:
            fcntl.flock(self.lock_file, fcntl.LOCK_UN)
            self.lock_file.close()


def _load(establishments: StockFile, legal_units: StockFile, *, stock_date, force, progress) -> Outcome:
    clock = _Clock(progress, total_bytes=establishments.size + legal_units.size)
    if _leftovers():
        clock.stage("Suppression des restes d'un import précédent")
        _discard_unfinished()
        _delete_replaced()
    stock = Stock.objects.create(
        stock_date=stock_date,
        establishments_file=establishments.path.name,
        legal_units_file=legal_units.path.name,
    )
    reports = FileReport("Établissements"), FileReport("Unités légales")
    try:
        _write(stock, establishments, EstablishmentRows(establishments.positions), reports[0], clock)
        clock.done_bytes = establishments.size
        _write(stock, legal_units, LegalUnitRows(legal_units.positions), reports[1], clock)
        if not force:
            _refuse_incomplete(reports)
        clock.stage("Recherche des SIRET en double")
        duplicates = _duplicated_sirets(stock)
        clock.stage("Mise en service")
        _put_in_service(stock, reports)
    except BaseException as error:
        _discard(
            stock, reason=str(error) if isinstance(error, ImportFailed) else f"Interrompu ({type(error).__name__})."
        )
        raise
    # The stock is in service: what follows never takes it out. Marking every structure takes seconds at the
    # country's scale (10 s for 400,000 against a million establishments), in batches that each lock a few
    # structures (`structures.receivers.mark_all`); an interruption leaves the rest to the next stock.
    try:
        clock.stage("Marquage des structures")
        stock_replaced.send(sender=Stock, stock=stock)
        clock.stage("Suppression des lignes du stock remplacé")
        _delete_replaced()
        _analyse()
    except KeyboardInterrupt:
        return Outcome(stock, *reports, duplicates=duplicates, leftovers=True)
    return Outcome(stock, *reports, duplicates=duplicates)


def _analyse() -> None:
    """PostgreSQL's statistics of the two tables, whose rows were all just replaced: without them, look-ups are
    planned for a table it has not seen (autovacuum comes later, or not at all)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (Establishment, LegalUnit):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _refuse_incomplete(reports: tuple[FileReport, FileReport]) -> None:
    """A stock that does not look whole stays out of service (`force` puts it in anyway)."""
    current = Stock.objects.filter(state=Stock.State.CURRENT).first()
    previous = {"Établissements": current.establishments, "Unités légales": current.legal_units} if current else {}
    for report in reports:
        if report.rows == 0:
            raise ImportFailed(f"{report.label} : aucune ligne n'a pu être chargée. {_first_reasons(report)}")
        if report.ends_short:
            raise ImportFailed(
                f"{report.label} : la dernière ligne du fichier est incomplète : le fichier semble tronqué "
                "(téléchargement interrompu ?). Ajoutez --force pour le mettre en service quand même."
            )
        if report.malformed > MAX_SET_ASIDE * report.records:
            raise ImportFailed(
                f"{report.label} : {figure(report.malformed)} lignes sur {figure(report.records)} ont été écartées "
                f"(plus de {MAX_SET_ASIDE:.0%}) : le fichier semble abîmé. {_first_reasons(report)} Ajoutez --force "
                "pour le mettre en service quand même."
            )
        if report.rows < MIN_SHARE_OF_PREVIOUS * previous.get(report.label, 0):
            raise ImportFailed(
                f"{report.label} : {figure(report.rows)} lignes chargées, contre {figure(previous[report.label])} "
                "dans le stock en service : le fichier semble tronqué. Ajoutez --force pour le mettre en service "
                "quand même."
            )


def _first_reasons(report: FileReport) -> str:
    return " ; ".join(f"{where} : {reason}" for where, reason in report.examples[:3]) + "." if report.examples else ""


class _Clock:
    """Calls `progress` about once a second on a terminal, every ten seconds otherwise (a log)."""

    def __init__(self, progress, *, total_bytes: int, every: float = 1.0):
        self.progress = progress
        self.total_bytes = max(total_bytes, 1)
        self.done_bytes = 0
        self.every = every
        self.file_started = time.monotonic()
        self.last = 0.0

    def start_file(self) -> None:
        self.file_started = time.monotonic()

    def tick(self, label: str, rows: int, stock_file: StockFile, *, final: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (now - self.last < self.every and not final):
            return
        self.last = now
        fraction = min((self.done_bytes + stock_file.position()) / self.total_bytes, 1.0)
        self.progress(Progress(label, rows, now - self.file_started, fraction, final=final))

    def stage(self, text: str) -> None:
        if self.progress is not None:
            self.progress(Progress("", 0, 0.0, 1.0, stage=text))


def _write(stock: Stock, stock_file: StockFile, kind, report: FileReport, clock: _Clock) -> None:
    """Every well-formed row of `stock_file` into `kind.model`'s table, under `stock`."""
    table = kind.model._meta.db_table
    columns = [kind.model._meta.get_field(name).column for name in kind.fields]
    clock.start_file()

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
    """The new stock in service in place of the old one, in one transaction, if it is still the one loading."""
    with transaction.atomic():
        list(Stock.objects.select_for_update().filter(state__in=[Stock.State.CURRENT, Stock.State.LOADING]))
        Stock.objects.filter(state=Stock.State.CURRENT).update(state=Stock.State.REPLACED)
        swapped = Stock.objects.filter(pk=stock.pk, state=Stock.State.LOADING).update(
            state=Stock.State.CURRENT,
            finished_at=timezone.now(),
            establishments=reports[0].rows,
            legal_units=reports[1].rows,
            malformed=reports[0].malformed + reports[1].malformed,
            report="\n".join(reports[0].lines() + reports[1].lines()),
        )
        if not swapped:
            raise ImportFailed("L'import a été abandonné pendant son chargement (un autre import l'a remplacé).")
    stock.refresh_from_db()


def _rows_of(stocks) -> None:
    """Deletes the stocks' rows. PostgreSQL deletes them in one statement, which no reader waits on; SQLite in
    batches of consecutive ids, each its own transaction, so that the portal's writes are not held back for the
    whole of it (a stock's rows were inserted together: their ids follow each other)."""
    for model in (Establishment, LegalUnit):
        rows = model.objects.filter(stock__in=stocks)
        if connection.vendor == "postgresql":
            rows.delete()
            continue
        bounds = rows.aggregate(first=Min("pk"), last=Max("pk"))
        if bounds["first"] is None:
            continue
        for start in range(bounds["first"], bounds["last"] + 1, DELETE_BATCH):
            with transaction.atomic():
                rows.filter(pk__gte=start, pk__lt=start + DELETE_BATCH).delete()


def _leftovers() -> bool:
    """Rows of a stock no longer in service, or of one an interrupted import left loading, still to delete."""
    return Stock.objects.exclude(state=Stock.State.CURRENT).filter(rows_deleted=False).exists()


def _delete_replaced() -> None:
    """The rows of the stocks no longer in service; the stocks themselves stay, as the imports' record."""
    for stock in Stock.objects.filter(state__in=[Stock.State.REPLACED, Stock.State.FAILED], rows_deleted=False):
        _rows_of([stock.pk])
        Stock.objects.filter(pk=stock.pk).update(rows_deleted=True)


def _discard(stock: Stock, *, reason: str) -> None:
    """What a failed import wrote goes; its stock is kept, marked failed, with the reason for support to read."""
    if connection.in_atomic_block and connection.needs_rollback:
        return  # the caller's transaction is rolling back, the rows with it
    Stock.objects.filter(pk=stock.pk).update(state=Stock.State.FAILED, finished_at=timezone.now(), report=reason)
    _rows_of([stock.pk])
    Stock.objects.filter(pk=stock.pk).update(rows_deleted=True)


def _discard_unfinished() -> None:
    """An import interrupted before it could clean up (a killed process) left a stock loading: it is marked failed,
    and its rows go with the replaced stocks'. The lock (`_single_import`) makes sure no other import is loading it."""
    Stock.objects.filter(state=Stock.State.LOADING).update(
        state=Stock.State.FAILED, finished_at=timezone.now(), report="Import interrompu avant sa fin."
    )
