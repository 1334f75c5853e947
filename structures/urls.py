from django.urls import path

from structures import views

app_name = "structures"

urlpatterns = [
    path("", views.structure_list, name="list"),
]
