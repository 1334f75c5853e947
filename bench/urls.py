from django.shortcuts import render
from django.urls import include, path


def baseline(request):
    """The yardstick of P1: the portal's base template around one heading, nothing else."""
    return render(request, "bench/baseline.html")


urlpatterns = [
    path("banc-d-essai/", baseline, name="baseline"),
    path("", include("chorus.urls")),
]
