"""The mails of the account steps, one function each (templates in templates/emails/)."""

from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.http import urlsafe_base64_encode

from accounts.tokens import activation_token
from chorus import mail


def account_summary(user, structure, *, structure_created: bool) -> None:
    mail.send(
        "account_summary",
        user.email,
        {"user": user, "structure": structure, "structure_created": structure_created},
    )


def _uid(user) -> str:
    return urlsafe_base64_encode(str(user.pk).encode())


def activation_link(user) -> None:
    path = reverse("accounts:activate", kwargs={"uidb64": _uid(user), "token": activation_token.make_token(user)})
    mail.send("activation_link", user.email, {"user": user, "link": mail.absolute_url(path)})


def signup_with_taken_address(user) -> None:
    login_link = mail.absolute_url(reverse("accounts:login"))
    mail.send("signup_taken_address", user.email, {"user": user, "login_link": login_link})


def password_reset(user) -> None:
    token = default_token_generator.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": _uid(user), "token": token})
    mail.send("password_reset", user.email, {"user": user, "link": mail.absolute_url(path)})


def account_deactivated(user) -> None:
    mail.send("account_deactivated", user.notification_email, {"user": user})
