from django.http import Http404


def _not_yet(request, *args, **kwargs):
    raise Http404


index = request_start = request_list = request_detail = request_delete = request_send = _not_yet
line_add = line_update = line_delete = invoice_attach = invoice_download = _not_yet
