"""How every private file (RIB, invoice, SEPA transfer file) leaves the portal: one response for all."""

from django.http import FileResponse


def attachment(file, filename: str, content_type: str) -> FileResponse:
    """An open private file, downloaded under `filename`: never shown in the browser (a file is not a page, whatever
    its bytes look like) nor kept in a shared cache (it holds bank details or invoices)."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
