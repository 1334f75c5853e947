"""The mails of the account steps, one function each (templates in templates/emails/)."""

from django.urls import reverse
from django.utils.http import urlsafe_base64_encode

from accounts.tokens import activation_token, reset_token
from chorus import mail


def account_summary(user, structure, *, structure_created: bool) -> None:
    """At activation: the account, and whether its structure was created or an attachment requested."""
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
    token = reset_token.make_token(user)
    path = reverse("accounts:password_reset_confirm", kwargs={"uidb64": _uid(user), "token": token})
    mail.send("password_reset", user.email, {"user": user, "link": mail.absolute_url(path)})


def account_deactivated(user) -> None:
    mail.send("account_deactivated", user.notification_email, {"user": user})


def address_change_requested(change) -> None:
    """Tells the address being replaced, at once, what is changing and by whom, before anything changes.

    A login address is also told at the contact address, where the owner may read more often.
    """
    user = change.user
    old = user.email if change.kind == change.Kind.LOGIN else user.notification_email
    context = {"change": change, "user": user, "old_address": old, "login": change.kind == change.Kind.LOGIN}
    for address in dict.fromkeys([old, user.notification_email]):
        mail.send("address_change_requested", address, {**context, "recipient": address})


def address_change_link(change) -> None:
    """The link that puts the change in force, to the address that will receive the portal's mail from then on."""
    path = reverse("accounts:confirm_address_change", kwargs={"token": change.make_token()})
    mail.send(
        "address_change_link",
        change.confirming_address,
        {
            "change": change,
            "user": change.user,
            "login": change.kind == change.Kind.LOGIN,
            "link": mail.absolute_url(path),
        },
    )
