from django.urls import path

from twofactor import views

app_name = "twofactor"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("nouveau-code/", views.send_code, name="send_code"),
]
