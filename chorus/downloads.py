"""How every private file (RIB, invoice, SEPA transfer file) leaves the portal: one response for all."""

from django.http import FileResponse, Http404


def attachment(stored, filename: str, content_type: str, *, missing: str) -> FileResponse:
    """A stored private file (a model's `FieldFile`), downloaded under `filename`: never shown in the browser (a file
    is not a page, whatever its bytes look like) nor kept in a shared cache (it holds bank details or invoices).
    None recorded, or gone from the storage: 404, saying `missing`."""
    if not stored:
        raise Http404(missing)
    try:
        file = stored.open("rb")
    except FileNotFoundError:
        raise Http404(missing) from None
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
