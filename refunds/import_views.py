from django.http import Http404


def _not_yet(request, *args, **kwargs):
    raise Http404


lines_import = import_template = _not_yet
