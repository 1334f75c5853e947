"""The « Accusé de dépôt » of a sent request, as a PDF (REFUNDS §2): for the download, a mail or an archive.

Rendered by WeasyPrint from `templates/refunds/receipt.html` and `static/refunds/receipt.css`, read from disk;
the renderer fetches nothing (`NoFetching`): no network, no file but the stylesheet, whatever a line says.
The PDF is tagged as PDF/UA-1 (structure, `lang="fr"`, the title shown by readers) for screen readers.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from refunds.models import RefundEvent, RefundLine, RefundRequest
from structures.models import Structure

STYLESHEET = settings.BASE_DIR / "static" / "refunds" / "receipt.css"
PARIS = ZoneInfo("Europe/Paris")


def receipt_html(refund: RefundRequest) -> str:
    """The receipt as HTML, before it is laid out: what the PDF says, in words a test can read."""
    if not refund.number:
        raise ValueError("A draft has no receipt: it was not filed.")
    return render_to_string("refunds/receipt.html", _context(refund))


def render_receipt(refund: RefundRequest) -> bytes:
    """The receipt of a sent request, as PDF bytes (tagged PDF/UA-1)."""
    # Imported here: WeasyPrint loads Pango when imported, which only this document needs.
    import weasyprint

    class NoFetching(weasyprint.URLFetcher):
        """Every image, stylesheet or font the document would load: refused (WeasyPrint logs it and goes on)."""

        def fetch(self, url, headers=None):
            raise ValueError(f"the receipt loads nothing from outside: {url}")

    document = weasyprint.HTML(string=receipt_html(refund), url_fetcher=NoFetching())
    stylesheet = weasyprint.CSS(string=STYLESHEET.read_text(encoding="utf-8"), url_fetcher=NoFetching())
    return document.write_pdf(stylesheets=[stylesheet], pdf_variant="pdf/ua-1")


def download_name(refund: RefundRequest) -> str:
    return f"accuse-de-depot-{refund.number}.pdf"


def _lines_sent(refund: RefundRequest, sending) -> list[RefundLine]:
    """The lines as they were last sent. While a complement is asked the farm may be changing them: then they are
    read from their history as of that sending; otherwise the request is read-only and they are its lines."""
    if refund.status == RefundRequest.Status.INFORMATION_REQUESTED and sending is not None:
        return list(RefundLine.history.as_of(sending.at).filter(request_id=refund.pk).order_by("id"))
    return list(refund.lines.select_related("product"))


def _context(refund: RefundRequest) -> dict:
    try:
        category = Structure.BeneficiaryCategory(refund.beneficiary_category).label
    except ValueError:
        category = refund.beneficiary_category
    filing = refund.events.filter(kind=RefundEvent.Kind.FILED).last()
    # Sent back with a complement: the lines below are those sent back, on that date, by that person.
    refiling = refund.events.filter(kind=RefundEvent.Kind.REFILED).last()
    return {
        "refiled_at": timezone.localtime(refiling.at, PARIS) if refiling else None,
        "refiled_by": refiling.actor_label if refiling else "",
        "refund": refund,
        "filed_at": timezone.localtime(refund.filed_at, PARIS) if refund.filed_at else None,
        "category": category,
        "filer": refund.filed_by,
        # The filer's name and address as they were, should the account be gone since.
        "filer_label": filing.actor_label if filing else "",
        "lines": _lines_sent(refund, refiling or filing),
    }
