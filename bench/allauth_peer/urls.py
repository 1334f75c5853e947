from django.shortcuts import render
from django.urls import include, path


def bare(request):
    """The peer's yardstick, as the portal's /banc-d-essai/ is ours: its base template around one heading."""
    return render(request, "peer/bare.html")


urlpatterns = [
    path("banc-d-essai/", bare),
    path("accounts/", include("allauth.urls")),
]
