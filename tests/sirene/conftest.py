from datetime import date
from pathlib import Path

import pytest

from sirene import importer
from sirene.sample import generate

SAMPLE = Path(__file__).resolve().parents[2] / "sirene" / "sample"
ESTABLISHMENTS = SAMPLE / "StockEtablissement_sample.csv"
LEGAL_UNITS = SAMPLE / "StockUniteLegale_sample.csv"
STOCK_DATE = date(2026, 11, 1)

# Rows of the sample (sirene/sample/generate.py, KNOWN).
LISTED = "73282932000017"  # EARL DU PLATEAU, 12 B RTE DE LA FORET, 26400 CREST
SOLE_TRADER = "41232789200011"  # Jeanne MARTIN, 4 CHE DES VIGNES, 35000 RENNES
CLOSED = "55208131700018"  # GAEC DES SAULES, closed
PARTIAL = "38012986600014"  # Paul LEFEBVRE, partly public: address withheld
UNLISTED = "73282932000074"  # a right key, in no stock


def load_sample(stock_date=STOCK_DATE, **kwargs):
    return importer.load(str(ESTABLISHMENTS), str(LEGAL_UNITS), stock_date=stock_date, **kwargs)


@pytest.fixture
def directory(db):
    """The repository's sample, in service as the stock of 1 November 2026."""
    return load_sample().stock


@pytest.fixture
def write_stock(tmp_path):
    """Writes a made-up stock of `rows` establishments (CSV, or ZIP) and returns the two paths."""

    def write(rows: int = 20, *, zipped: bool = False, name: str = "stock") -> tuple[str, str]:
        paths = generate.write(tmp_path / name, rows=rows, zipped=zipped)
        return str(paths[0]), str(paths[1])

    return write
