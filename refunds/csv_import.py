"""Lines of a refund request imported from a CSV file, and the one rule of every CSV the portal writes.

`parse` reads the file a farm's accountant made in a spreadsheet: one line per invoice, the columns of the
line form (`HEADER`). It says, row by row and column by column, everything that is wrong, so that the file
can be fixed in one go; nothing is imported until every row is right (`workflows.import_lines` then takes
them all, in one transaction). It writes nothing and needs nothing from the page: the request's year, the
invoice numbers already on it and the limit of lines, and the products and rates, which it reads once.

Spreadsheets write CSV in many ways: `;` (French Excel) or `,` as the separator, UTF-8 with or without a BOM
or Windows-1252, French decimal commas, spaces between thousands. All of them are read; anything else (a
binary file, UTF-16) is refused with a message saying how to save the file.

`safe_cell` and `spreadsheet_lines` are for the other direction: the CSV files the portal writes, whose cells a
spreadsheet must never run as formulas.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from chorus.forms import fields_only
from refunds.models import Product, Rate, RefundRequest
from refunds.workflows import LineData, rates_of

HEADER = ["numero_facture", "date_facture", "fournisseur", "produit", "quantite"]
HEADER_LINE = ";".join(HEADER)

# 500 lines of about 80 bytes make 40 KB; 2 MB leaves room for long supplier names and stops a huge upload
# before it is decoded.
MAX_FILE_SIZE = 2 * 1024 * 1024

# The model's columns (RefundLine.invoice_number, .supplier, .quantity).
MAX_NUMBER_LENGTH = 40
MAX_SUPPLIER_LENGTH = 120
MAX_WHOLE_DIGITS = 8
MAX_DECIMALS = 2

UNREADABLE = (
    "Le fichier n'est pas un CSV lisible : depuis votre tableur, enregistrez-le au format « CSV UTF-8 » ou "
    "« CSV (séparateur : point-virgule) », puis importez-le de nouveau."
)

# An exported cell starting with one of these is a formula to a spreadsheet (OWASP « CSV injection »).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# Spaces a spreadsheet puts between thousands: ordinary, no-break, narrow no-break.
THOUSANDS_SPACES = " \u00a0\u202f"
QUANTITY = re.compile(r"(?P<whole>\d+)(?:[.,](?P<decimals>\d+))?")
GROUPED_QUANTITY = re.compile(r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?")
# The shapes of a date the import reads (`%d/%m/%Y`, `%Y-%m-%d`): a value of that shape that strptime refuses is a
# day that does not exist (31/02/2023), not a date written otherwise.
DATE_SHAPES = (re.compile(r"[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}"), re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"))
# Control characters that no typed text holds (a tab, a carriage return and a line feed may).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RowError:
    """What is wrong, and where: the file's line (the header is line 1) and the column, when there is one."""

    message: str
    line: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        where = f"Ligne {self.line}" + (f", colonne {self.column}" if self.column else "")
        return f"{where} : {self.message}"


class _FileRefused(Exception):
    """The file as a whole cannot be read: one message says why, no row is looked at."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.error = RowError(message, line)


def parse(
    data: bytes,
    *,
    year: int,
    existing_numbers,
    max_lines: int,
    products: list[Product] | None = None,
    rates: dict[int, Rate] | None = None,
) -> tuple[list[LineData], list[RowError]]:
    """The file's rows as lines for a request of `year`, or every error found; never both.

    `existing_numbers` are the invoice numbers already on the request (one per line), `max_lines` the most
    lines a request may hold, those already on it included. `products` and `rates` (by product id) are read
    from the database when not given.
    """
    existing = {number.upper() for number in existing_numbers}
    room = max(max_lines - len(existing), 0)
    try:
        text = _decoded(data)
        delimiter = _delimiter(text)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=False)
        columns = _columns(next(reader, []))
        raw_rows = _rows(reader, columns, room=room, max_lines=max_lines, existing=len(existing))
    except _FileRefused as refused:
        return [], [refused.error]
    if not raw_rows:
        return [], [RowError(f"Le fichier n'a aucune ligne de demande sous la ligne d'en-tête {HEADER_LINE}.")]

    products = list(Product.objects.all()) if products is None else products
    rates = rates_of(year) if rates is None else rates
    checker = _RowChecker(year=year, existing=existing, products=products, rates=rates, delimiter=delimiter)
    rows, errors = [], []
    for line, cells, extra in raw_rows:
        row, row_errors = checker.check(line, cells, extra)
        errors += row_errors
        if row is not None:
            rows.append(row)
    return ([], errors) if errors else (rows, [])


def safe_cell(value: str) -> str:
    """A cell of an exported CSV, made inert: a spreadsheet runs `=…`, `+…`, `-…`, `@…` as a formula.

    The quote makes the spreadsheet show the text as it is (OWASP, « CSV injection »).
    """
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


class _Line:
    """What `csv.writer` writes to: the line itself, handed on as it is written."""

    def write(self, line: str) -> str:
        return line


def spreadsheet_lines(rows):
    """An exported CSV as a French spreadsheet opens it, line by line (a response may stream them): a byte-order
    mark, `;`, every cell quoted (a spreadsheet told to read quoted fields as text keeps leading zeros) and made safe
    (`safe_cell`)."""
    writer = csv.writer(_Line(), delimiter=";", quoting=csv.QUOTE_ALL)
    yield "\ufeff"
    for row in rows:
        yield writer.writerow([safe_cell(str(cell)) for cell in row])


def template_csv(example_year: int) -> bytes:
    """The file to fill in: the header and one example row, `;`-separated, UTF-8 with a BOM for Excel.

    The example row is a right row of a request of `example_year` (its invoice dated that year), so that the file
    imports as it is downloaded.
    """
    example = [f"FA-{example_year}-0042", f"15/03/{example_year}", "Coopérative du Val", "gnr", "1250,50"]
    rows = [HEADER, example]
    output = io.StringIO(newline="")
    csv.writer(output, delimiter=";", lineterminator="\r\n").writerows(rows)
    return output.getvalue().encode("utf-8-sig")


# Reading the file.


def _decoded(data: bytes) -> str:
    """UTF-8 (with or without its BOM) when the bytes are, else Windows-1252; binary files refused."""
    if len(data) > MAX_FILE_SIZE:
        raise _FileRefused(f"Le fichier dépasse {MAX_FILE_SIZE // 2**20} Mo : importez-le en plusieurs fichiers.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise _FileRefused(UNREADABLE) from None
    if not text.strip():
        raise _FileRefused(f"Le fichier est vide : sa première ligne doit être la ligne d'en-tête {HEADER_LINE}.")
    # A NUL byte is in no text file (UTF-16 has one in every other byte); many control characters mean binary.
    if "\x00" in text or len(CONTROL.findall(text)) > max(len(text) // 100, 2):
        raise _FileRefused(UNREADABLE)
    return text


def _delimiter(text: str) -> str:
    """`;` or `,`, from the header line (which holds neither quotes nor decimals)."""
    first_line = text.splitlines()[0]
    return "," if "," in first_line and ";" not in first_line else ";"


def _normal(name: str) -> str:
    """« Numéro facture » → `numero_facture`: a column name whatever its case, accents and spaces."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    return re.sub(r"[\s\-]+", "_", bare.strip(" \t\"'\ufeff").casefold())


def _columns(header: list[str]) -> dict[str, int]:
    """Where each expected column is in the file; the file refused when one is missing, unknown or twice."""
    names = [_normal(cell) for cell in header]
    while names and not names[-1]:
        names.pop()  # the empty cells a spreadsheet leaves at the end of a line
    missing = [name for name in HEADER if name not in names]
    unknown = [_shown(name, 30) or "(vide)" for name in names if name not in HEADER]
    twice = sorted({name for name in names if name in HEADER and names.count(name) > 1})
    if missing or unknown or twice:
        raise _FileRefused(_header_message(missing=missing, unknown=unknown, twice=twice))
    return {name: names.index(name) for name in HEADER}


def _header_message(*, missing=None, unknown=None, twice=None) -> str:
    found = [("colonnes manquantes", missing), ("colonnes inconnues", unknown), ("colonnes en double", twice)]
    details = [f"{label} : {', '.join(names)}" for label, names in found if names]
    return (
        f"La ligne d'en-tête doit être {HEADER_LINE} (dans cet ordre ou un autre)"
        + (f" ; {' ; '.join(details)}" if details else "")
        + ". Partez du modèle de fichier."
    )


def _rows(reader, columns: dict[str, int], *, room: int, max_lines: int, existing: int) -> list:
    """(line, {column: cell}, extra cells) for each row that is not blank; stops past the room left."""
    rows = []
    width = len(columns)
    previous_end = reader.line_num
    try:
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, or a line of empty cells (« ;;;; »)
            if len(rows) == room:
                raise _FileRefused(_too_many(room=room, max_lines=max_lines, existing=existing))
            named = {name: cells[index] if index < len(cells) else "" for name, index in columns.items()}
            extra = [cell for cell in cells[width:] if cell.strip()]
            rows.append((line, named, extra))
    except csv.Error:
        # A field that never ends (an opening quote without its closing one swallows the rest of the file).
        raise _FileRefused(
            "un guillemet ouvert n'est jamais refermé : vérifiez les guillemets de cette ligne.", line=previous_end + 1
        ) from None
    return rows


def _too_many(*, room: int, max_lines: int, existing: int) -> str:
    if not existing:
        return f"Le fichier compte plus de {max_lines} lignes de demande : une demande en compte {max_lines} au plus."
    if not room:
        return (
            f"La demande compte déjà {existing} lignes, le plus qu'elle puisse compter : aucune ne peut être ajoutée."
        )
    return (
        f"La demande compte déjà {existing} lignes et en compte {max_lines} au plus : le fichier peut en ajouter "
        f"{room}, il en compte davantage."
    )


# Checking each row.


class _RowChecker:
    """Checks one row after another, remembering the invoice numbers met so far in the file."""

    def __init__(self, *, year, existing, products, rates, delimiter):
        self.year = year
        self.existing = existing
        self.rates = rates
        self.delimiter = delimiter
        self.seen: dict[str, int] = {}
        self.products = {product.code.casefold(): product for product in products}
        self.products |= {_product_key(product.name): product for product in products}
        self.codes = ", ".join(product.code for product in products)

    def check(self, line: int, cells: dict[str, str], extra: list[str]) -> tuple[LineData | None, list[RowError]]:
        errors = []

        def error(column, message):
            errors.append(RowError(message, line, column))

        if extra:
            hint = (
                " Dans un fichier séparé par des virgules, écrivez les quantités avec un point (1250.50) "
                "ou entre guillemets."
                if self.delimiter == ","
                else ""
            )
            error(None, f"la ligne a {len(HEADER) + len(extra)} valeurs pour {len(HEADER)} colonnes.{hint}")
        number = self._text(cells["numero_facture"], "numero_facture", MAX_NUMBER_LENGTH, error)
        if number:
            key = number.upper()
            if key in self.existing:
                error("numero_facture", f"la facture « {number} » figure déjà dans la demande.")
            elif key in self.seen:
                error("numero_facture", f"la facture « {number} » figure déjà ligne {self.seen[key]} du fichier.")
            else:
                self.seen[key] = line
        supplier = self._text(cells["fournisseur"], "fournisseur", MAX_SUPPLIER_LENGTH, error)
        invoice_date = self._date(cells["date_facture"], error)
        product = self._product(cells["produit"], error)
        quantity = self._quantity(cells["quantite"], error)
        if errors:
            return None, errors
        return LineData(number, invoice_date, supplier, product, quantity), []

    @staticmethod
    def _text(value: str, column: str, max_length: int, error) -> str:
        # Kept as typed, a leading `=` or tab included: the portal never evaluates it, and exports quote it.
        value = value.strip(THOUSANDS_SPACES)
        if not value.strip():
            error(column, "la valeur est obligatoire.")
        elif len(value) > max_length:
            error(column, f"{max_length} caractères au plus (la valeur en compte {len(value)}).")
        elif CONTROL.search(value):
            error(column, "la valeur contient un caractère de contrôle invisible : retapez-la.")
        else:
            return value
        return ""

    def _date(self, value: str, error) -> date | None:
        value = value.strip()
        if not value:
            error("date_facture", "la date de la facture est obligatoire.")
            return None
        parsed = None
        for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                parsed = datetime.strptime(value, pattern).date()
                break
            except ValueError:
                continue
        if parsed is None and any(shape.fullmatch(value) for shape in DATE_SHAPES):
            error("date_facture", f"« {value} » n'est pas une date qui existe.")
        elif parsed is None:
            error(
                "date_facture",
                f"« {_shown(value)} » n'est pas une date : écrivez-la JJ/MM/AAAA, par exemple 15/03/{self.year}.",
            )
        elif parsed.year != self.year:
            error("date_facture", f"la date « {value} » n'est pas dans l'année de la demande ({self.year}).")
        else:
            return parsed
        return None

    def _product(self, value: str, error) -> Product | None:
        value = value.strip()
        if not value:
            error("produit", f"le produit est obligatoire : indiquez l'un de ces codes : {self.codes}.")
            return None
        product = self.products.get(value.casefold()) or self.products.get(_product_key(value))
        if product is None:
            error(
                "produit",
                f"« {_shown(value)} » n'est pas un produit connu : indiquez l'un de ces codes : {self.codes}.",
            )
        elif product.pk not in self.rates:
            error("produit", f"les taux {self.year} ne sont pas encore publiés pour le produit {product.name}.")
        else:
            return product
        return None

    @staticmethod
    def _quantity(value: str, error) -> Decimal | None:
        value = value.strip(THOUSANDS_SPACES)
        if not value:
            error("quantite", "la quantité est obligatoire.")
            return None
        negative = value.startswith("-")
        digits = value.removeprefix("-").strip(THOUSANDS_SPACES)
        if GROUPED_QUANTITY.fullmatch(digits):
            digits = re.sub(f"[{THOUSANDS_SPACES}]", "", digits)
        match = QUANTITY.fullmatch(digits)
        if match is None:
            error("quantite", f"« {_shown(value)} » n'est pas une quantité : écrivez un nombre, par exemple 1250,50.")
            return None
        whole, decimals = match["whole"], match["decimals"] or ""
        quantity = Decimal(f"{whole}.{decimals or 0}")
        if negative or quantity <= 0:
            error("quantite", f"« {value} » n'est pas une quantité positive.")
        elif len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
            error("quantite", f"« {value} » a plus de {MAX_WHOLE_DIGITS} chiffres avant la virgule.")
        elif len(decimals) > MAX_DECIMALS:
            error("quantite", f"« {value} » a plus de {MAX_DECIMALS} chiffres après la virgule.")
        else:
            return quantity
        return None


def _product_key(name: str) -> str:
    """« Gaz naturel combustible », « gaz-naturel combustible », « GAZ NATUREL COMBUSTIBLE »: one product."""
    return _normal(name).replace("_", " ")


def _shown(value: str, limit: int = 40) -> str:
    """A typed value quoted in a message, shortened."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


# The page's form.


class LinesImportForm(forms.Form):
    """« Importer des lignes de demande »: the file, read and checked row by row; `save` imports every row."""

    file = forms.FileField(
        label="Fichier CSV des lignes",
        help_text=f"Fichier CSV (séparateur point-virgule ou virgule), {MAX_FILE_SIZE // 2**20} Mo au plus.",
        error_messages={
            "required": "Choisissez le fichier CSV à importer.",
            "empty": "Le fichier est vide : sa première ligne doit être la ligne d'en-tête.",
            "invalid": "Choisissez le fichier CSV à importer.",
        },
        widget=forms.FileInput(attrs={"accept": ".csv,text/csv", "class": "fr-upload"}),
    )

    def __init__(self, refund: RefundRequest, *args, max_lines: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.refund = refund
        self.max_lines = max_lines
        self.helper = fields_only()
        self.fields["file"].widget.group_class = "fr-upload-group"  # the DSFR upload component
        self.fields["file"].help_text += f" Une demande compte {max_lines} lignes au plus."
        self.rows: list[LineData] = []
        self.row_errors: list[RowError] = []

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAX_FILE_SIZE:
            raise ValidationError(
                "Le fichier ne doit pas dépasser %(max)s Mo : importez les lignes en plusieurs fichiers.",
                code="file_too_large",
                params={"max": MAX_FILE_SIZE // 2**20},
            )
        uploaded.seek(0)
        existing = self.refund.lines.values_list("invoice_number", flat=True)
        self.rows, self.row_errors = parse(
            uploaded.read(), year=self.refund.year, existing_numbers=list(existing), max_lines=self.max_lines
        )
        if len(self.row_errors) == 1 and self.row_errors[0].line is None:
            # The file as a whole: its message is the field's.
            message, self.row_errors = self.row_errors[0].message, []
            raise ValidationError(message, code="file")
        if self.row_errors:
            count = len(self.row_errors)
            raise ValidationError(
                "Le fichier contient %(count)s erreur%(s)s, listée%(s)s sous le formulaire : corrigez-%(it)s "
                "dans votre tableur, puis importez de nouveau le fichier. Aucune ligne n'a été importée.",
                code="rows",
                params={"count": count, "s": "s" if count > 1 else "", "it": "les" if count > 1 else "la"},
            )
        return uploaded
