from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("inscription/", views.signup, name="signup"),
    path("inscription/recapitulatif/", views.signup_done, name="signup_done"),
    path("activer/lien-invalide/", views.activation_invalid, name="activation_invalid"),
    path("activer/nouveau-lien/", views.resend_activation, name="resend_activation"),
    path("activer/nouveau-lien/envoye/", views.resend_activation_done, name="resend_activation_done"),
    path(
        "activer/nouveau-lien/rattachement/<int:membership_pk>/",
        views.resend_member_activation,
        name="resend_member_activation",
    ),
    # After the fixed addresses: « activer/nouveau-lien/envoye/ » also has the shape of a link.
    path("activer/<uidb64>/<token>/", views.ActivateView.as_view(), name="activate"),
    path("connexion/", views.LoginView.as_view(), name="login"),
    path("deconnexion/", views.sign_out, name="sign_out"),
    path("mot-de-passe-oublie/", views.password_reset, name="password_reset"),
    path(
        "mot-de-passe-oublie/envoye/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe-oublie/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("profil/", views.profile, name="profile"),
    path("profil/mot-de-passe/", views.PasswordChangeView.as_view(), name="password_change"),
    path("confirmer-mot-de-passe/", views.confirm_password, name="confirm_password"),
    path("profil/desactiver/", views.deactivate, name="deactivate"),
    path("profil/e-mail-du-contact/", views.contact_email_change, name="contact_email_change"),
    path("changement-d-adresse/<str:token>/", views.confirm_address_change, name="confirm_address_change"),
]
