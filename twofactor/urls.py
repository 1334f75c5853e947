from django.urls import path

from twofactor import device_views, views, webauthn

app_name = "twofactor"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("nouveau-code/", views.send_code, name="send_code"),
    path("appareils-de-confiance/oublier/", views.forget_trusted, name="forget_trusted"),
    path("appareils/", device_views.devices, name="devices"),
    path("appareils/application/", device_views.totp_add, name="totp_add"),
    path("appareils/codes-de-secours/", device_views.recovery_codes, name="recovery_codes"),
    path(
        "appareils/codes-de-secours/nouveaux/",
        device_views.recovery_codes_regenerate,
        name="recovery_codes_regenerate",
    ),
    path("appareils/<str:kind>/<int:pk>/renommer/", device_views.device_rename, name="device_rename"),
    path("appareils/<str:kind>/<int:pk>/par-defaut/", device_views.device_make_default, name="device_make_default"),
    path("appareils/<str:kind>/<int:pk>/supprimer/", device_views.device_remove, name="device_remove"),
    path("cle/ajout/debut/", webauthn.BeginRegistration.as_view(), name="webauthn_register_begin"),
    path("cle/ajout/", webauthn.register, name="webauthn_register"),
    path("cle/verification/debut/", webauthn.BeginVerification.as_view(), name="webauthn_verify_begin"),
    path("cle/verification/", webauthn.verify, name="webauthn_verify"),
]
