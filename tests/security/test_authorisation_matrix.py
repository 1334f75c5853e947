"""Every URL of the portal × every persona: the exact answer, and for a refusal, that nothing changed.

What the matrix proves:

- every URL pattern the resolver knows (includes walked, names namespaced, unnamed ones by their route)
  has an entry, or is listed in `PUBLIC` with its reason; so does every model and action of the admin:
  a new view without an entry fails `test_every_url_is_in_the_matrix`;
- for each (view, method, persona), the exact status and, for a redirect, where it leads: the sign-in
  page with ?next=, the password confirmation (a manager without a recently typed password), the
  admin's sign-in, or the step's own next page;
- URLs with ids aim at farm A's objects (its request, a membership, its second bank account, a user who
  never activated): farm B's manager, outsiders, the requester, staff get 404, as another structure's
  objects must;
- every case that is not a success (`done`) leaves the data as it was: every admin-registered table
  (users with their active and staff flags, password and session generation; groups and permissions;
  structures, memberships, bank accounts, approval requests; post_office's mails...) but the
  append-only logs (audit trail, axes' access log), and `mail.outbox`;
- the admin: anonymous visitors and non-staff users go to its sign-in page; staff without permissions
  get the index and their password pages, 403 elsewhere; support (view permissions) reads and changes
  nothing; the « Support » group (its migration's permissions) reads what a caller asks about and runs
  the support actions, adds and deletes nothing, sets no password; a superuser gets what each
  ModelAdmin allows. Actions are tried from the list and, where offered, from an object's page.

Captcha's views are public by nature; static files are served by WhiteNoise's middleware (no URL
pattern) and the private files (MEDIA_URL) by none at all: see `test_private_files_have_no_url`.
"""

import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from captcha.models import CaptchaStore
from django.conf import settings
from django.contrib import admin
from django.contrib.admin import ActionLocation
from django.contrib.auth.models import Group
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.http import QueryDict
from django.urls import URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AddressChange, User
from accounts.tokens import activation_token
from refunds.models import PaymentBatch, Product
from structures.models import BankAccount
from tests.factories import PASSWORD, list_in_sirene, make_siret
from tests.structures.conftest import PDF

NEW_PASSWORD = "Tracteur#Vert-2931q"


@pytest.fixture(autouse=True)
def _failed_sign_in_stays_recent(settings):
    """The world is built once per module, and a slow machine takes more than axes' 15-minute cool-off
    to run it: its failed sign-in would then count as expired, and « cleanup » would find something."""
    settings.AXES_COOLOFF_TIME = 24  # hours


@pytest.fixture(scope="module")
def world(world, django_db_blocker):
    """The world, with a SIRENE stock in service that lists farm A under INSEE's name and address: the
    comparison page has differences to offer, so a manager's POST takes one and the refusals guard a real step.
    Written inside the world's transaction, rolled back with it."""
    with django_db_blocker.unblock():
        stock = list_in_sirene(
            world.farm.siret,
            "EARL DES CHAMPS DE CREST",
            street_number="1",
            street_type="RTE",
            street_name="DE CREST",
            postal_code="26400",
            city="CREST",
        )
    world.admin_objects["sirene.stock"] = stock
    return world


PERSONAS = [
    "anonymous",
    "outsider",  # signed in, no structure, no request
    "requester",  # a pending request on farm A
    "attached",  # simple user of A
    "manager",  # main manager of A, password typed a moment ago
    "manager_unconfirmed",  # the same, without a recent password
    "second_manager",  # manager of A
    "other_manager",  # main manager of farm B
    "staff",  # is_staff, no permission, no structure
    "support",  # is_staff with every admin view permission, no structure
    "support_group",  # is_staff, in the « Support » group (accounts/migrations/0003), no structure
    "superuser",
    "instructor",  # staff in the « Instructeurs » group, instructs the Drôme (26), farm A's département
    "other_instructor",  # the same, for Ille-et-Vilaine (35) only
]
ADMIN_PERSONAS = ["anonymous", "manager", "staff", "support", "support_group", "superuser"]


# ---------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True)
class Outcome:
    status: int
    # For a redirect: (world, the requested path with its query) -> the expected Location.
    location: Callable | None = None
    changes: bool = False  # a success: the database may change
    name: str = ""

    def __repr__(self):
        return self.name or str(self.status)


def _next(login_url: str, path: str) -> str:
    query = QueryDict(mutable=True)
    query["next"] = path
    return f"{login_url}?{query.urlencode(safe='/')}"


OK = Outcome(200, name="200")
FORBIDDEN = Outcome(403, name="403")
NOT_FOUND = Outcome(404, name="404")
NOT_ALLOWED = Outcome(405, name="405")
BAD_REQUEST = Outcome(400, name="400")
CHALLENGE = Outcome(200, name="challenge")  # a security key's ceremony begins: JSON, kept in the session
LOGIN = Outcome(302, lambda w, path: _next(reverse("accounts:login"), path), name="login")
ADMIN_LOGIN = Outcome(302, lambda w, path: _next(reverse("admin:login"), path), name="admin login")


STRUCTURE_LIST = reverse("structures:structure_list")


def reauth(next_url: Callable | None = None) -> Outcome:
    """« Confirmez votre identité », then back to `next_url` (by default the page asked for)."""

    def location(w, path):
        return f"{reverse('accounts:confirm_password')}?{urlencode({'next': next_url(w) if next_url else path})}"

    return Outcome(302, location, name="reauth")


REAUTH = reauth()


def page_at(name: str, *args: str) -> Callable:
    """The URL of `name` with these literal arguments."""
    return lambda w, *_: reverse(name, args=args)


def page(name: str, *attributes: str) -> Callable:
    """The URL of `name`, with the pks of the world's `attributes` ("farm", "pending"...)."""
    return lambda w, *_: reverse(name, args=[_pk(w, attribute) for attribute in attributes])


def _pk(w, attribute: str):
    """The pk of a world's object by its dotted name, e.g. "never_activated.user"."""
    value = w
    for part in attribute.split("."):
        value = getattr(value, part)
    return value.pk


def to(where: Callable) -> Outcome:
    """A redirect that changes nothing."""
    return Outcome(302, where, name="redirect")


def done(where: Callable) -> Outcome:
    """The success redirect: the step went through."""
    return Outcome(302, where, changes=True, name="done")


def expect(default: Outcome, anonymous: Outcome = LOGIN, **others: Outcome) -> dict[str, Outcome]:
    unknown = set(others) - set(PERSONAS)
    assert not unknown, unknown
    return {persona: default for persona in PERSONAS} | {"anonymous": anonymous} | others


def managers(outcome: Outcome, unconfirmed: Outcome | None = None) -> dict[str, Outcome]:
    """Farm A's managers: the main manager (with and without a recent password) and the second one."""
    return {"manager": outcome, "second_manager": outcome, "manager_unconfirmed": unconfirmed or outcome}


def instructors(outcome: Outcome, other: Outcome = NOT_FOUND) -> dict[str, Outcome]:
    """/instruction/: the instructor of farm A's département gets `outcome`, the other one `other` (404 on A's
    requests and batches); anyone else is refused (403), an anonymous visitor sent to sign in."""
    return expect(FORBIDDEN, instructor=outcome, other_instructor=other)


def everyone(outcome: Outcome) -> dict[str, Outcome]:
    return expect(outcome, anonymous=outcome)


def managers_own(outcome: Outcome, unconfirmed: Outcome | None = None) -> dict[str, Outcome]:
    """A's main manager on their own second-factor device, with and without a recent password."""
    return {"manager": outcome, "manager_unconfirmed": unconfirmed or outcome}


# ---------------------------------------------------------------------------
# Portal views: what each (view, method) answers to each persona


def _set_password_page(name, token_word, user_attribute):
    def location(w, *_):
        return reverse(name, args=[_uid(_user(w, user_attribute)), token_word])

    return location


def _new_bank_account(w, *_):
    return BankAccount.objects.latest("pk").get_absolute_url()


def _new_batch(w, *_):
    return reverse("instruction:batch_detail", args=[PaymentBatch.objects.latest("pk").pk])


HOME = page("home")
REVIEWED = page("instruction:request_detail", "reviewed_request")
DRAFT = page("refunds:request_detail", "refund_draft")
LIST = page("approvals:approval_list")
USERS_OF_A = page("structures:structure_users", "farm")
ACCOUNT_PAGE = page("structures:bank_account_detail", "account")
ACTIVATION_PASSWORD = _set_password_page("accounts:activate", "mot-de-passe", "never_activated.user")
RESET_PASSWORD = _set_password_page(
    "accounts:password_reset_confirm", "nouveau-mot-de-passe", "attached_membership.user"
)
ADDRESS_CONFIRMATION = page_at("accounts:confirm_address_change", "nouvelle-adresse")
DEVICES = page("twofactor:devices")

PORTAL = {
    # chorus
    ("home", "get"): everyone(OK),
    ("organisation", "get"): expect(OK),
    # portal: « Facturation », and a management centre's portfolio as a file (nobody here works for a centre)
    ("portal:billing", "get"): expect(OK),
    ("portal:portfolio_export", "get"): expect(NOT_FOUND),
    ("terms", "get"): everyone(OK),
    ("accessibility", "get"): everyone(OK),
    # structures
    ("structures:structure_list", "get"): expect(OK),
    # Asked for farm A: its managers are sent to its form, anyone else sees the choice refused.
    ("structures:structure_manage", "get"): expect(OK, **managers(to(page("structures:structure_update", "farm")))),
    ("structures:structure_detail", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    # What refund requests carry: the password is asked again, as for bank details.
    ("structures:structure_update", "get"): expect(NOT_FOUND, **managers(OK, REAUTH)),
    ("structures:structure_update", "post"): expect(
        NOT_FOUND, **managers(done(page("structures:structure_update", "farm")), REAUTH)
    ),
    # « Comparer avec le répertoire SIRENE »: what « Modifier une structure » changes, guarded the same way.
    ("structures:structure_sirene", "get"): expect(NOT_FOUND, **managers(OK, REAUTH)),
    ("structures:structure_sirene", "post"): expect(
        NOT_FOUND, **managers(done(page("structures:structure_update", "farm")), REAUTH)
    ),
    ("structures:structure_users", "get"): expect(NOT_FOUND, **managers(OK)),
    ("structures:membership_detach", "get"): expect(NOT_FOUND, **managers(OK)),
    ("structures:membership_detach", "post"): expect(NOT_FOUND, **managers(done(USERS_OF_A))),
    ("structures:main_manager_hand_over", "get"): expect(
        NOT_FOUND, manager=OK, manager_unconfirmed=REAUTH, second_manager=FORBIDDEN
    ),
    ("structures:main_manager_hand_over", "post"): expect(
        NOT_FOUND, manager=done(USERS_OF_A), manager_unconfirmed=REAUTH, second_manager=FORBIDDEN
    ),
    # B's manager may create bank details, for B only: A is no choice of theirs (200, form error).
    ("structures:bank_account_create", "get"): expect(NOT_FOUND, other_manager=OK, **managers(OK, REAUTH)),
    ("structures:bank_account_create", "post"): expect(
        NOT_FOUND, other_manager=OK, **managers(done(_new_bank_account), REAUTH)
    ),
    ("structures:bic_lookup", "get"): expect(NOT_ALLOWED),
    ("structures:bic_lookup", "post"): expect(OK),  # public registry data
    ("structures:bank_account_detail", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("structures:bank_account_update", "get"): expect(NOT_FOUND, **managers(OK, REAUTH)),
    ("structures:bank_account_update", "post"): expect(NOT_FOUND, **managers(done(ACCOUNT_PAGE), REAUTH)),
    ("structures:bank_account_make_default", "get"): expect(NOT_ALLOWED),
    ("structures:bank_account_make_default", "post"): expect(
        NOT_FOUND, **managers(done(ACCOUNT_PAGE), reauth(ACCOUNT_PAGE))
    ),
    ("structures:bank_account_delete", "get"): expect(NOT_FOUND, **managers(OK, REAUTH)),
    ("structures:bank_account_delete", "post"): expect(
        NOT_FOUND, **managers(done(page("structures:structure_detail", "farm")), REAUTH)
    ),
    # Staff allowed to see bank details (support, superuser) download any RIB, as the admin links it. A simple
    # user sees the account, IBAN masked, and is told that the RIB, which shows it whole, is for managers.
    ("structures:rib_download", "get"): expect(
        NOT_FOUND, attached=FORBIDDEN, support=OK, support_group=OK, superuser=OK, **managers(OK)
    ),
    # refunds: farm A's members file (its managers and its simple user alike); everyone else gets 404 on its
    # requests. The URLs aim at A's 2023 draft (ready to send) and its line, the receipt at A's sent 2022 request.
    ("refunds:index", "get"): expect(OK),
    ("refunds:request_start", "get"): expect(OK),
    # Someone who may not file for A sees the choice refused (200, the form's error); A's members reach its draft.
    ("refunds:request_start", "post"): expect(OK, attached=done(DRAFT), **managers(done(DRAFT))),
    ("refunds:request_list", "get"): expect(OK),
    ("refunds:request_detail", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:request_detail", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT))),
    ("refunds:request_delete", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:request_delete", "post"): expect(
        NOT_FOUND, attached=done(page("refunds:request_list")), **managers(done(page("refunds:request_list")))
    ),
    # « Envoyer » asks for the password and the second factor again, as bank details do.
    ("refunds:request_send", "get"): expect(NOT_FOUND, attached=OK, **managers(OK, REAUTH)),
    ("refunds:request_send", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT), REAUTH)),
    ("refunds:line_add", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:line_add", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT))),
    ("refunds:line_update", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:line_update", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT))),
    ("refunds:line_delete", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:line_delete", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT))),
    ("refunds:invoice_attach", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:invoice_attach", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT))),
    # Staff allowed to see requests (support, superuser) download invoices and receipts, as the admin links them.
    ("refunds:invoice_download", "get"): expect(
        NOT_FOUND, attached=OK, support=OK, support_group=OK, superuser=OK, **managers(OK)
    ),
    ("refunds:receipt", "get"): expect(
        NOT_FOUND, attached=OK, support=OK, support_group=OK, superuser=OK, **managers(OK)
    ),
    ("refunds:lines_import", "get"): expect(NOT_FOUND, attached=OK, **managers(OK)),
    ("refunds:lines_import", "post"): expect(NOT_FOUND, attached=done(DRAFT), **managers(done(DRAFT))),
    ("refunds:import_template", "get"): expect(OK),
    # instruction: A's requests (« Déposée » 2022, « En instruction » 2021, « Acceptée » 2020) and its batch.
    ("instruction:queue", "get"): instructors(OK, OK),
    ("instruction:request_detail", "get"): instructors(OK),
    ("instruction:take", "get"): instructors(NOT_ALLOWED, NOT_ALLOWED),
    ("instruction:take", "post"): instructors(done(page("instruction:request_detail", "refund_request"))),
    ("instruction:request_information", "get"): instructors(OK),
    ("instruction:request_information", "post"): instructors(done(REVIEWED)),
    ("instruction:accept", "get"): instructors(OK),
    ("instruction:accept", "post"): instructors(done(REVIEWED)),
    ("instruction:reject", "get"): instructors(OK),
    ("instruction:reject", "post"): instructors(done(REVIEWED)),
    ("instruction:invoice_download", "get"): instructors(OK),
    ("instruction:replaced_invoice_download", "get"): instructors(OK),
    ("instruction:rib_download", "get"): instructors(OK),
    ("instruction:payments", "get"): instructors(OK, OK),
    ("instruction:payments", "post"): instructors(done(_new_batch)),
    ("instruction:batch_detail", "get"): instructors(OK),
    ("instruction:batch_download", "get"): instructors(OK),
    ("instruction:mark_paid", "get"): instructors(NOT_ALLOWED, NOT_ALLOWED),
    ("instruction:mark_paid", "post"): instructors(done(page("instruction:batch_detail", "batch"))),
    ("instruction:dashboard", "get"): instructors(OK, OK),
    ("instruction:dashboard_export", "get"): instructors(OK, OK),
    # approvals
    ("approvals:approval_list", "get"): expect(OK),
    ("approvals:approval_detail", "get"): expect(NOT_FOUND, **managers(OK)),
    ("approvals:approve", "get"): expect(NOT_FOUND, **managers(to(page("approvals:approval_detail", "pending")))),
    ("approvals:approve", "post"): expect(NOT_FOUND, **managers(done(LIST))),
    ("approvals:refuse", "get"): expect(NOT_FOUND, **managers(OK)),
    ("approvals:refuse", "post"): expect(NOT_FOUND, **managers(done(LIST))),
    ("approvals:approve_selection", "get"): expect(to(LIST)),
    ("approvals:approve_selection", "post"): expect(NOT_FOUND, **managers(done(LIST))),
    ("approvals:refuse_selection", "get"): expect(to(LIST)),
    ("approvals:refuse_selection", "post"): expect(NOT_FOUND, **managers(done(LIST))),
    ("approvals:my_memberships", "get"): expect(OK),
    ("approvals:request_attachment", "get"): expect(OK),
    # Asking to join A: 200 with the form's error for who is already attached or waiting.
    ("approvals:request_attachment", "post"): expect(
        done(page("approvals:my_memberships")), requester=OK, attached=OK, **managers(OK)
    ),
    ("approvals:structure_create", "get"): expect(OK),
    # « Créer une structure » with A's SIRET: a request, as above.
    ("approvals:structure_create", "post"): expect(
        done(page("approvals:my_memberships")), requester=OK, attached=OK, **managers(OK)
    ),
    ("approvals:withdraw", "get"): expect(NOT_FOUND, requester=to(page("approvals:my_memberships"))),
    ("approvals:withdraw", "post"): expect(NOT_FOUND, requester=done(page("approvals:my_memberships"))),
    # accounts
    ("accounts:signup", "get"): expect(to(HOME), anonymous=OK),
    ("accounts:signup", "post"): expect(to(HOME), anonymous=done(page("accounts:signup_done"))),
    ("accounts:signup_done", "get"): everyone(to(page("accounts:signup"))),  # no registration in the session
    # Whoever holds the link: the token moves into the session, then the password is set.
    ("accounts:activate", "get"): everyone(to(ACTIVATION_PASSWORD)),
    ("accounts:activate", "post"): everyone(done(HOME)),
    ("accounts:activation_invalid", "get"): everyone(OK),
    ("accounts:resend_activation", "get"): everyone(OK),
    ("accounts:resend_activation", "post"): everyone(done(page("accounts:resend_activation_done"))),
    ("accounts:resend_activation_done", "get"): everyone(OK),
    ("accounts:resend_member_activation", "get"): expect(NOT_FOUND, **managers(to(USERS_OF_A))),
    ("accounts:resend_member_activation", "post"): expect(NOT_FOUND, **managers(done(USERS_OF_A))),
    ("accounts:login", "get"): expect(to(HOME), anonymous=OK),
    # A right password leads to the second factor (twofactor's pages are in the matrix too).
    ("accounts:login", "post"): expect(
        to(HOME), anonymous=done(lambda w, *_: f"{reverse('twofactor:verify')}?next=%2F")
    ),
    ("accounts:sign_out", "get"): everyone(NOT_ALLOWED),
    ("accounts:sign_out", "post"): everyone(done(HOME)),
    ("accounts:password_reset", "get"): everyone(OK),
    ("accounts:password_reset", "post"): everyone(done(page("accounts:password_reset_done"))),
    ("accounts:password_reset_done", "get"): everyone(OK),
    ("accounts:password_reset_confirm", "get"): everyone(to(RESET_PASSWORD)),
    ("accounts:password_reset_confirm", "post"): everyone(done(page("accounts:login"))),
    ("accounts:profile", "get"): expect(OK),
    ("accounts:profile", "post"): expect(done(page("accounts:profile"))),
    ("accounts:password_change", "get"): expect(OK),
    ("accounts:password_change", "post"): expect(done(page("accounts:profile"))),
    ("accounts:confirm_password", "get"): expect(OK),
    # A right password leads to the second step, the second factor, on the same page (and mails the e-mail code).
    ("accounts:confirm_password", "post"): expect(
        done(lambda w, *_: f"{reverse('accounts:confirm_password')}?{urlencode({'next': STRUCTURE_LIST})}")
    ),
    ("accounts:deactivate", "get"): expect(OK),
    ("accounts:deactivate", "post"): expect(done(HOME)),
    # Where the portal's notices go: the password typed lately, then a link to the new address.
    ("accounts:contact_email_change", "get"): expect(OK, manager_unconfirmed=REAUTH),
    ("accounts:contact_email_change", "post"): expect(done(page("accounts:profile")), manager_unconfirmed=REAUTH),
    # Whoever holds the link mailed to the new address (here, a new contact address of A's simple user).
    ("accounts:confirm_address_change", "get"): everyone(to(ADDRESS_CONFIRMATION)),
    ("accounts:confirm_address_change", "post"): everyone(done(page("accounts:profile"))),
    # twofactor: « Double authentification » in « Mon profil ». The device URLs aim at an application of A's main
    # manager (`_managers_application`): anyone else's answer is 404. Adding an application, new recovery codes and
    # removing a device ask for the password again; renaming and choosing the default do not.
    # The second step: every persona here passed it already (the page sends on), so only the form's own refusal
    # of an empty code and a new code's mail remain; the steps themselves: tests/twofactor/test_sign_in.py.
    ("twofactor:verify", "get"): expect(to(HOME), anonymous=to(page("accounts:login"))),
    ("twofactor:verify", "post"): expect(OK, anonymous=to(page("accounts:login"))),
    ("twofactor:send_code", "get"): everyone(NOT_ALLOWED),
    ("twofactor:send_code", "post"): expect(
        done(
            lambda w, *_: re.compile(
                re.escape(f"{reverse('twofactor:verify')}?next=%2F&appareil=otp_email.emaildevice%2F") + r"\d+"
            )
        ),
        anonymous=to(page("accounts:login")),
    ),
    ("twofactor:devices", "get"): expect(OK),
    ("twofactor:forget_trusted", "get"): everyone(NOT_ALLOWED),
    ("twofactor:forget_trusted", "post"): expect(done(page("accounts:profile"))),
    ("twofactor:totp_add", "get"): expect(OK, manager_unconfirmed=REAUTH),
    # The first code cannot be known before the key is drawn: the form says it is wrong (200), nothing is added.
    ("twofactor:totp_add", "post"): expect(OK, manager_unconfirmed=REAUTH),
    # No codes just issued in this session: back to the devices.
    ("twofactor:recovery_codes", "get"): expect(to(DEVICES)),
    ("twofactor:recovery_codes_regenerate", "get"): expect(NOT_ALLOWED),
    # Only who has an application or a key gets codes: staff (their sessions passed an application), not the others.
    ("twofactor:recovery_codes_regenerate", "post"): expect(
        to(DEVICES),
        manager_unconfirmed=reauth(DEVICES),
        **dict.fromkeys(
            ["staff", "support", "support_group", "superuser", "instructor", "other_instructor"],
            done(page("twofactor:recovery_codes")),
        ),
    ),
    ("twofactor:device_rename", "get"): expect(NOT_FOUND, **managers_own(OK)),
    ("twofactor:device_rename", "post"): expect(NOT_FOUND, **managers_own(done(DEVICES))),
    ("twofactor:device_make_default", "get"): expect(NOT_ALLOWED),
    ("twofactor:device_make_default", "post"): expect(NOT_FOUND, **managers_own(done(DEVICES))),
    ("twofactor:device_remove", "get"): expect(NOT_FOUND, **managers_own(OK, REAUTH)),
    ("twofactor:device_remove", "post"): expect(NOT_FOUND, **managers_own(done(DEVICES), reauth(DEVICES))),
    # Security keys (twofactor/webauthn.py). « begin » answers JSON: a challenge for the signed-in user, a French
    # refusal otherwise; nobody here has a key to answer with, so the second halves find no challenge in the
    # session and send back: nothing added, nothing verified.
    ("twofactor:webauthn_register_begin", "get"): everyone(NOT_ALLOWED),
    ("twofactor:webauthn_register_begin", "post"): expect(
        CHALLENGE, anonymous=FORBIDDEN, manager_unconfirmed=FORBIDDEN
    ),
    ("twofactor:webauthn_register", "get"): expect(NOT_ALLOWED),
    ("twofactor:webauthn_register", "post"): expect(to(DEVICES), manager_unconfirmed=reauth(DEVICES)),
    ("twofactor:webauthn_verify_begin", "get"): everyone(NOT_ALLOWED),
    ("twofactor:webauthn_verify_begin", "post"): expect(BAD_REQUEST, anonymous=FORBIDDEN),  # no key on the account
    ("twofactor:webauthn_verify", "get"): everyone(NOT_ALLOWED),
    ("twofactor:webauthn_verify", "post"): expect(
        to(lambda w, *_: f"{reverse('twofactor:verify')}?next=%2F"), anonymous=to(page("accounts:login"))
    ),
}

# Not in the matrix, on purpose.
PUBLIC = {
    "captcha-image": "the challenge's picture, for anyone signing up; a key is 40 random hex characters",
    "captcha-image-2x": "the same picture, twice as large",
    "captcha-audio": "the challenge read aloud (accessibility)",
    "captcha-refresh": "a new challenge for the sign-up form (XHR only)",
}


def _uid(user) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def _user(w, attribute: str) -> User:
    return User.objects.get(pk=_pk(w, attribute))


def _rib():
    return SimpleUploadedFile("rib.pdf", PDF, content_type="application/pdf")


def _invoice():
    return SimpleUploadedFile("facture.pdf", PDF, content_type="application/pdf")


def _refund_line(number: str) -> dict:
    return {
        "invoice_number": number,
        "invoice_date": "2023-03-15",
        "supplier": "Coopérative du Val",
        "product": Product.objects.get(code="gnr").pk,
        "quantity": "1 000",
        "invoice": _invoice(),
    }


def _lines_csv():
    content = (
        "numero_facture;date_facture;fournisseur;produit;quantite\r\nFA-2023-0100;15/03/2023;Coopérative;gnr;250\r\n"
    )
    return SimpleUploadedFile("lignes.csv", content.encode(), content_type="text/csv")


def _activation_link(w):
    user = _user(w, "never_activated.user")
    return reverse("accounts:activate", args=[_uid(user), activation_token.make_token(user)])


def _reset_link(w):
    user = _user(w, "attached_membership.user")
    return reverse("accounts:password_reset_confirm", args=[_uid(user), default_token_generator.make_token(user)])


URL_ARGS = {
    "structures:structure_detail": ["farm"],
    "structures:structure_update": ["farm"],
    "structures:structure_sirene": ["farm"],
    "structures:structure_users": ["farm"],
    "structures:membership_detach": ["farm", "attached_membership"],
    "structures:main_manager_hand_over": ["farm"],
    "structures:bank_account_detail": ["account"],
    "structures:bank_account_update": ["account"],
    "structures:bank_account_make_default": ["account"],
    "structures:bank_account_delete": ["account"],
    "structures:rib_download": ["account"],
    "approvals:approval_detail": ["pending"],
    "approvals:approve": ["pending"],
    "approvals:refuse": ["pending"],
    "approvals:withdraw": ["pending"],
    "accounts:resend_member_activation": ["never_activated"],
    "refunds:request_detail": ["refund_draft"],
    "refunds:request_delete": ["refund_draft"],
    "refunds:request_send": ["refund_draft"],
    "refunds:line_add": ["refund_draft"],
    "refunds:line_update": ["refund_draft", "draft_line"],
    "refunds:line_delete": ["refund_draft", "draft_line"],
    "refunds:invoice_attach": ["refund_draft", "draft_line"],
    "refunds:invoice_download": ["refund_draft", "draft_line"],
    "refunds:lines_import": ["refund_draft"],
    "refunds:receipt": ["refund_request"],
    "instruction:request_detail": ["refund_request"],
    "instruction:take": ["refund_request"],
    "instruction:request_information": ["reviewed_request"],
    "instruction:accept": ["reviewed_request"],
    "instruction:reject": ["reviewed_request"],
    "instruction:invoice_download": ["refund_request", "sent_line"],
    "instruction:replaced_invoice_download": ["refund_request", "sent_line_record"],
    "instruction:rib_download": ["refund_request"],
    "instruction:batch_detail": ["batch"],
    "instruction:batch_download": ["batch"],
    "instruction:mark_paid": ["batch"],
}


def _address_change_link(w):
    """A link to confirm a new contact address of A's simple user, as its mail carries it."""
    user = _user(w, "attached_membership.user")
    change = AddressChange.objects.create(
        user=user, kind=AddressChange.Kind.CONTACT, new_address="bureau@exemple.fr", requested_by=user
    )
    return reverse("accounts:confirm_address_change", args=[change.make_token()])


def _managers_application(w) -> TOTPDevice:
    """An authenticator application of A's main manager, the device the device URLs aim at."""
    device, _ = TOTPDevice.objects.get_or_create(
        user=w.users["manager"], name="Téléphone de Marie", defaults={"confirmed": True}
    )
    return device


def _device_page(name: str) -> Callable:
    def url(w):
        device = _managers_application(w)
        return reverse(name, args=[device.model_label(), device.pk])

    return url


SPECIAL_URLS = {
    "accounts:activate": _activation_link,
    "accounts:password_reset_confirm": _reset_link,
    "accounts:confirm_address_change": _address_change_link,
    "twofactor:device_rename": _device_page("twofactor:device_rename"),
    "twofactor:device_make_default": _device_page("twofactor:device_make_default"),
    "twofactor:device_remove": _device_page("twofactor:device_remove"),
}

# What each request sends: the data the authorised persona needs to succeed, so a refusal is the guard's.
DATA = {
    ("structures:structure_manage", "get"): lambda w: {"request_type": "modify", "structure": w.farm.pk},
    ("structures:structure_update", "post"): lambda w: {
        "name": "EARL du Champ A",
        "structure_type": "company",
        "email": "contact@champ-a.fr",
        "tax_regime": "vat_debits",
        "address": "12 route de Crest",
        "postal_code": "26400",
        "city": "Crest",
        "country": "FR",
        "phone": "04 75 12 34 56",
        "beneficiary_category": "farming_company",
        "pacage": "026123456",
    },
    ("structures:structure_sirene", "post"): lambda w: {"stock": "2026-11-01", "name": "on"},
    ("structures:main_manager_hand_over", "post"): lambda w: {"membership": w.attached_membership.pk},
    ("structures:bank_account_create", "post"): lambda w: {
        "label": "Compte neuf",
        "structure": w.farm.pk,
        "iban": "FR76 3000 6000 0198 7654 3210 173",
        "bic": "AGRIFRPP",
        "rib_file": _rib(),
    },
    ("structures:bic_lookup", "post"): lambda w: {"iban": "FR7630006000011234567890189"},
    ("structures:bank_account_update", "post"): lambda w: {"label": "Compte renommé", "rib_file": _rib()},
    ("approvals:refuse", "post"): lambda w: {"reason": "Inconnu de l'exploitation."},
    ("approvals:approve_selection", "post"): lambda w: {"requests": [w.pending.pk]},
    ("approvals:refuse_selection", "post"): lambda w: {"requests": [w.pending.pk], "reason": "Inconnu."},
    ("approvals:request_attachment", "post"): lambda w: {"siret": w.farm.siret, "comment": "Bonjour"},
    ("approvals:structure_create", "post"): lambda w: {"siret": w.farm.siret, "comment": "Bonjour"},
    ("accounts:signup", "post"): lambda w: _signup_data(),
    ("accounts:activate", "post"): lambda w: {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ("accounts:resend_activation", "post"): lambda w: {"email": _user(w, "never_activated.user").email},
    ("accounts:login", "post"): lambda w: {"username": w.users["outsider"].email, "password": PASSWORD},
    ("accounts:password_reset", "post"): lambda w: {"email": w.users["attached"].email},
    ("accounts:password_reset_confirm", "post"): lambda w: {
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    },
    ("accounts:profile", "post"): lambda w: {"first_name": "Jeanne", "last_name": "Nouveau", "phone": ""},
    ("accounts:password_change", "post"): lambda w: {
        "old_password": PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
    },
    ("accounts:confirm_password", "get"): lambda w: {"next": reverse("structures:structure_list")},
    ("accounts:confirm_password", "post"): lambda w: {
        "password": PASSWORD,
        "next": reverse("structures:structure_list"),
    },
    ("accounts:deactivate", "post"): lambda w: {"password": PASSWORD, "confirm": "on"},
    ("accounts:contact_email_change", "post"): lambda w: {"contact_email": "bureau@exemple.fr"},
    ("twofactor:totp_add", "post"): lambda w: {"name": "Téléphone", "code": "000000"},
    ("refunds:request_start", "post"): lambda w: {"structure": w.farm.pk, "year": w.refund_draft.year},
    ("refunds:request_detail", "post"): lambda w: {"bank_account": w.default_account.pk, "not_in_difficulty": "on"},
    ("refunds:line_add", "post"): lambda w: _refund_line("FA-2023-0099"),
    ("refunds:line_update", "post"): lambda w: _refund_line("FA-2023-0042"),
    ("refunds:invoice_attach", "post"): lambda w: {"invoice": _invoice()},
    ("refunds:lines_import", "post"): lambda w: {"file": _lines_csv()},
    ("instruction:request_information", "post"): lambda w: {"message": "Joignez la facture lisible."},
    ("instruction:accept", "post"): lambda w: {
        f"granted_{line.pk}": "149,60" for line in w.reviewed_request.lines.all()
    },
    ("instruction:reject", "post"): lambda w: {"reason": "Activité non agricole."},
    ("instruction:payments", "post"): lambda w: {"requests": [w.accepted_request.pk]},
    ("twofactor:device_rename", "post"): lambda w: {"name": "Téléphone pro"},
    ("twofactor:webauthn_register_begin", "post"): lambda w: {"name": "Clé USB"},
}
# Two steps: the link first (the token moves into the session), then the POST to where it leads.
FOLLOW_LINK_FIRST = {"accounts:activate", "accounts:password_reset_confirm", "accounts:confirm_address_change"}


def _signup_data():
    key = CaptchaStore.generate_key()
    return {
        "email": "nouvelle@exemple.fr",
        "email_confirmation": "nouvelle@exemple.fr",
        "first_name": "Jeanne",
        "last_name": "Martin",
        "phone": "06 12 34 56 78",
        "accept_terms": "on",
        "identifier_type": "siret",
        "identifier": make_siret(),
        "captcha_0": key,
        "captcha_1": CaptchaStore.objects.get(hashkey=key).response,
    }


def portal_url(w, name: str) -> str:
    if name in SPECIAL_URLS:
        return SPECIAL_URLS[name](w)
    return reverse(name, args=[_pk(w, attribute) for attribute in URL_ARGS.get(name, [])])


# ---------------------------------------------------------------------------
# The admin: every registered model's pages, the site's own pages, every action
#
# Anonymous visitors and signed-in non-staff users (A's manager) get the admin's sign-in page; staff
# without any permission get the index and their own password pages, 403 elsewhere; support (view
# permissions on every model) reads everything and changes nothing; a superuser gets what each
# ModelAdmin allows.


@dataclass(frozen=True)
class AdminCase:
    key: str  # the URL's namespaced name, as the resolver walk gives it
    method: str
    url: Callable  # world -> path
    expected: dict  # persona -> Outcome
    data: Callable = lambda w: {}
    label: str = ""  # what the case does, for its id

    @property
    def id(self) -> str:
        return f"{self.method}-{self.key}{self.label}"


def admin_expect(
    staff: Outcome,
    support: Outcome,
    superuser: Outcome,
    *,
    outsiders: Outcome = ADMIN_LOGIN,
    group: Outcome | None = None,  # the « Support » group: by default, as support
) -> dict:
    return {
        "anonymous": outsiders,
        "manager": outsiders,
        "staff": staff,
        "support": support,
        "support_group": group or support,
        "superuser": superuser,
    }


def _object(w, label: str):
    return w.admin_objects[label]


def _model_page(label: str, suffix: str, with_object: bool = True) -> Callable:
    app, model = label.split(".")
    return lambda w, *_: reverse(f"admin:{app}_{model}_{suffix}", args=[_object(w, label).pk] if with_object else [])


def _changelist(label: str) -> Callable:
    return _model_page(label, "changelist", with_object=False)


def _back(label: str) -> Outcome:
    """Back to the list, nothing done (« Aucune action choisie », or a form with nothing to save)."""
    return to(_changelist(label))


def _done(label: str) -> Outcome:
    return done(_changelist(label))


def _unnamed(route: str) -> str:
    return f"<unnamed {route}>"


@dataclass(frozen=True)
class Rights:
    """What a superuser may do with a model, once its ModelAdmin had its say."""

    add: bool = True
    change: bool = True
    delete: bool = True


RIGHTS = {
    "auth.group": Rights(),
    "dsfr.dsfrconfig": Rights(),
    "axes.accessattempt": Rights(add=False),
    "axes.accesslog": Rights(add=False),
    "axes.accessfailurelog": Rights(add=False),
    "post_office.email": Rights(add=False),
    "post_office.log": Rights(),
    "post_office.emailtemplate": Rights(),
    "post_office.attachment": Rights(),
    "structures.structure": Rights(),
    # Who acts for a structure: read-only to everyone (« Nommer gestionnaire principal » is an action).
    "structures.membership": Rights(add=False, change=False, delete=False),
    "structures.bankaccount": Rights(add=False, change=False, delete=False),  # bank details change on the site
    "approvals.approvalrequest": Rights(add=False, delete=False),  # decided through the actions
    "accounts.user": Rights(),
    "audit.auditevent": Rights(add=False, change=False, delete=False),  # written once, never changed
    # The reference data, kept by staff; a request is read-only to everyone (its steps are the portal's pages).
    "refunds.product": Rights(),
    "refunds.rate": Rights(),
    "refunds.campaign": Rights(),
    "refunds.refundrequest": Rights(add=False, change=False, delete=False),
    # Who instructs which département: superusers (no group holds these permissions).
    "instruction.instructor": Rights(),
    # The SIRENE directory's imports, with their reports: `import_sirene` alone writes them.
    "sirene.stock": Rights(add=False, change=False, delete=False),
}
# An empty change form posted by a superuser comes back with its errors (200), except where every field
# is read-only: « saved », back to the list, nothing changed.
READ_ONLY_FORMS = {"approvals.approvalrequest", "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}
# Deleting farm A would take its memberships and bank accounts along, deleting A's simple user their
# membership, which nobody deletes in the admin: the confirmation page lists them as objects one may not
# delete, and the POST is refused.
CASCADES_TO_READ_ONLY = {"structures.structure", "accounts.user"}
# Farm A holds a refund request, which protects it (a request outlives nothing it was filed for): the
# confirmation page says so, and its POST shows it again (200), before any question of permissions.
PROTECTED = {"structures.structure"}
# What the « Support » group may do with each model (accounts/migrations/0003): change (which runs the
# actions), view, or nothing at all (models not listed). It adds and deletes nothing.
GROUP_RIGHTS = {
    "accounts.user": "change",  # not a staff account, nor rights and passwords: see accounts/admin.py
    "structures.membership": "change",
    "approvals.approvalrequest": "change",
    "structures.structure": "view",
    "structures.bankaccount": "view",
    "audit.auditevent": "view",
    "post_office.email": "view",
    "post_office.log": "view",
    "axes.accessattempt": "view",
    "axes.accesslog": "view",
    "axes.accessfailurelog": "view",
    # refunds/migrations/0003: a caller asks where their request stands.
    "refunds.refundrequest": "view",
    "refunds.product": "view",
    "refunds.rate": "view",
    "refunds.campaign": "view",
    # sirene/migrations/0002: why a SIRET was refused or a structure marked absent.
    "sirene.stock": "view",
}
# django-simple-history's admins add one page: a past version, to read only.
WITH_PAST_VERSIONS = ["structures.structure", "structures.membership", "structures.bankaccount"]

# Changelist POSTs naming an action. Django runs it only if it is one of the user's actions; a user with
# no action at all just gets the list again (200), one with other actions goes back to it (302). Every
# action changes something, so support (view permissions only) must have none: 200, whatever the model.
# Each action aims at one of A's objects: (target, extra data, what a superuser gets when not `_done`).
ADMIN_ACTIONS = {
    ("approvals.approvalrequest", "approve"): (lambda w: w.pending, {}, None),
    ("approvals.approvalrequest", "refuse"): (lambda w: w.pending, {"reason": "Inconnu."}, None),
    ("structures.membership", "appoint_main_manager"): (lambda w: w.second_membership, {}, None),
    ("accounts.user", "resend_activation_link"): (lambda w: w.never_activated.user, {}, None),
    # A's simple user has a failed sign-in on record (conftest): it is forgotten.
    ("accounts.user", "unlock_sign_in"): (lambda w: w.attached_membership.user, {}, None),
    # The new address gets a link, the old one a notice; nothing changes until the link is opened.
    ("accounts.user", "change_login_address"): (
        lambda w: w.attached_membership.user,
        {"new_email": "ulysse.nouveau@exemple.fr"},
        None,
    ),
    # Confirmed on the page the action shows first: the user's devices go, the e-mail code stays, the user is mailed.
    ("accounts.user", "reset_second_factor"): (lambda w: w.attached_membership.user, {"confirm": "1"}, None),
    ("post_office.email", "requeue"): (lambda w: _object(w, "post_office.email"), {}, None),
    # nothing in the world has expired: nothing to clean
    ("axes.accessattempt", "cleanup_expired_attempts"): (
        lambda w: _object(w, "axes.accessattempt"),
        {},
        _back("axes.accessattempt"),
    ),
}
# « delete_selected » with its confirmation, for a superuser, when not `_done`:
SUPERUSER_DELETE_SELECTED = {
    "structures.structure": OK,  # see PROTECTED
    "accounts.user": FORBIDDEN,
    "structures.bankaccount": OK,  # no action at all
    "structures.membership": _back("structures.membership"),  # its own action, not this one
    "audit.auditevent": OK,
    "approvals.approvalrequest": _back("approvals.approvalrequest"),  # its own actions, not this one
    "refunds.refundrequest": OK,  # no action at all
    "sirene.stock": OK,  # no action at all
}


def model_cases(label: str, rights: Rights):
    """Changelist, add, change, delete, history and `<id>/` of one model; the POSTs; « delete_selected »."""
    app, model = label.split(".")
    prefix = f"admin:{app}_{model}"
    changelist, add, change = _changelist(label), _model_page(label, "add", False), _model_page(label, "change")
    delete, history = _model_page(label, "delete"), _model_page(label, "history")
    may = {True: OK, False: FORBIDDEN}
    change_post = FORBIDDEN if not rights.change else _back(label) if label in READ_ONLY_FORMS else OK
    may_delete = rights.delete and label not in CASCADES_TO_READ_ONLY
    group_views, group_changes = label in GROUP_RIGHTS, GROUP_RIGHTS.get(label) == "change"
    group_reads = may[group_views]
    group_change_post = change_post if group_changes else FORBIDDEN
    # « delete_selected » is none of the group's actions: back to the list where it has others, else the list again.
    group_delete_selected = _back(label) if group_changes else group_reads

    yield AdminCase(f"{prefix}_changelist", "get", changelist, admin_expect(FORBIDDEN, OK, OK, group=group_reads))
    yield AdminCase(f"{prefix}_add", "get", add, admin_expect(FORBIDDEN, FORBIDDEN, may[rights.add]))
    # read-only for support
    yield AdminCase(f"{prefix}_change", "get", change, admin_expect(FORBIDDEN, OK, OK, group=group_reads))
    yield AdminCase(f"{prefix}_delete", "get", delete, admin_expect(FORBIDDEN, FORBIDDEN, may[rights.delete]))
    yield AdminCase(f"{prefix}_history", "get", history, admin_expect(FORBIDDEN, OK, OK, group=group_reads))
    # `<id>/` sends any staff member on to the change page, which then applies the permissions.
    yield AdminCase(
        f"admin:{_unnamed(f'{app}/{model}/<path:object_id>/')}",
        "get",
        lambda w: f"{reverse('admin:index')}{app}/{model}/{_object(w, label).pk}/",
        admin_expect(to(change), to(change), to(change)),
    )
    yield AdminCase(f"{prefix}_add", "post", add, admin_expect(FORBIDDEN, FORBIDDEN, may[rights.add]))  # empty form
    yield AdminCase(
        f"{prefix}_change", "post", change, admin_expect(FORBIDDEN, FORBIDDEN, change_post, group=group_change_post)
    )
    yield AdminCase(
        f"{prefix}_delete",
        "post",
        delete,
        admin_expect(FORBIDDEN, FORBIDDEN, OK if label in PROTECTED else _done(label) if may_delete else FORBIDDEN),
        data=lambda w: {"post": "yes"},
    )
    yield AdminCase(
        f"{prefix}_changelist",
        "post",
        changelist,
        admin_expect(FORBIDDEN, OK, SUPERUSER_DELETE_SELECTED.get(label, _done(label)), group=group_delete_selected),
        data=lambda w: {"action": "delete_selected", "_selected_action": [_object(w, label).pk], "post": "yes"},
        label="-delete_selected",
    )


# The actions also offered on an object's page (Django's ActionLocation.CHANGE_FORM): posted there,
# they lead back to it. Support (view permissions) has no action there, so its POST is a change: 403.
CHANGE_FORM_ACTIONS = {
    ("approvals.approvalrequest", "approve"),
    ("approvals.approvalrequest", "refuse"),
    ("structures.membership", "appoint_main_manager"),
    ("accounts.user", "resend_activation_link"),
    ("accounts.user", "unlock_sign_in"),
    ("accounts.user", "change_login_address"),
    ("accounts.user", "reset_second_factor"),
}


def action_cases():
    for (label, action), (target, extra, superuser) in ADMIN_ACTIONS.items():
        app, model = label.split(".")
        superuser = superuser or _done(label)
        # The group runs the actions of the models it may change; elsewhere it has none (200), or no page (403).
        group = superuser if GROUP_RIGHTS.get(label) == "change" else OK if label in GROUP_RIGHTS else FORBIDDEN

        def data(w, target=target, extra=extra, action=action):
            return {"action": action, "_selected_action": [target(w).pk], **extra}

        yield AdminCase(
            f"admin:{app}_{model}_changelist",
            "post",
            _changelist(label),
            admin_expect(FORBIDDEN, OK, superuser, group=group),
            data=data,
            label=f"-{action}",
        )
        if (label, action) not in CHANGE_FORM_ACTIONS:
            continue

        def page_url(w, *_, target=target, label=label):
            return reverse(f"admin:{label.replace('.', '_')}_change", args=[target(w).pk])

        def page_data(w, target=target, extra=extra, action=action):
            return {"CHANGE_FORM-action": action, "_selected_action": [target(w).pk], **extra}

        back = done(page_url)
        yield AdminCase(
            f"admin:{app}_{model}_change",
            "post",
            page_url,
            admin_expect(FORBIDDEN, FORBIDDEN, back, group=back if GROUP_RIGHTS.get(label) == "change" else FORBIDDEN),
            data=page_data,
            label=f"-{action}",
        )


def _past_version(label: str) -> Callable:
    def url(w):
        obj = _object(w, label)
        return reverse(f"admin:{label.replace('.', '_')}_simple_history", args=[obj.pk, obj.history.earliest().pk])

    return url


def _structure_on_site(w):
    return reverse("admin:view_on_site", args=[ContentType.objects.get_for_model(w.farm).pk, w.farm.pk])


def _email_page(name: str) -> Callable:
    return lambda w: reverse(name, args=[_object(w, "post_office.email").pk])


INDEX = page("admin:index")
SITE_CASES = [
    AdminCase("admin:index", "get", INDEX, admin_expect(OK, OK, OK)),
    # One sign-in, the portal's (password, then second factor): the admin's page sends there, or tells someone who
    # is not staff that the admin is the team's. Nothing posted to it is read.
    *[
        AdminCase(
            "admin:login",
            method,
            page("admin:login"),
            admin_expect(to(INDEX), to(INDEX), to(INDEX))
            | {"anonymous": to(lambda w, *_: _next(reverse("accounts:login"), INDEX(w))), "manager": FORBIDDEN},
            data=lambda w: {"username": w.users["manager"].email, "password": PASSWORD},
        )
        for method in ("get", "post")
    ],
    AdminCase("admin:logout", "get", page("admin:logout"), admin_expect(*[NOT_ALLOWED] * 3, outsiders=to(INDEX))),
    # Signed out, to the portal's home page (LOGOUT_REDIRECT_URL), on every device (accounts.receivers).
    AdminCase("admin:logout", "post", page("admin:logout"), admin_expect(*[done(HOME)] * 3, outsiders=to(INDEX))),
    # On to the portal's own page, whose current-password check the lockout counts; nothing posted here is read.
    AdminCase(
        "admin:password_change",
        "get",
        page("admin:password_change"),
        admin_expect(*[to(page("accounts:password_change"))] * 3),
    ),
    AdminCase(
        "admin:password_change",
        "post",
        page("admin:password_change"),
        admin_expect(*[to(page("accounts:password_change"))] * 3),
        data=lambda w: {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    ),
    AdminCase("admin:password_change_done", "get", page("admin:password_change_done"), admin_expect(OK, OK, OK)),
    AdminCase(
        "admin:autocomplete",
        "get",
        page("admin:autocomplete"),
        admin_expect(FORBIDDEN, OK, OK),
        data=lambda w: {"app_label": "structures", "model_name": "membership", "field_name": "structure", "term": ""},
    ),
    AdminCase("admin:jsi18n", "get", page("admin:jsi18n"), admin_expect(OK, OK, OK)),
    # Any staff member is sent on to the object's page on this host, where the portal's rules apply.
    AdminCase(
        "admin:view_on_site",
        "get",
        _structure_on_site,
        admin_expect(*[to(lambda w, *_: f"http://testserver{w.farm.get_absolute_url()}")] * 3),
    ),
    AdminCase(
        "admin:app_list",
        "get",
        lambda w: reverse("admin:app_list", kwargs={"app_label": "structures"}),
        admin_expect(NOT_FOUND, OK, OK),
    ),
    AdminCase(
        f"admin:{_unnamed('(?P<url>.*)$')}",
        "get",
        lambda w: f"{reverse('admin:index')}nulle-part/",
        admin_expect(NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ),
    # Pages some ModelAdmins add.
    *[
        AdminCase(f"admin:{label.replace('.', '_')}_simple_history", method, _past_version(label), expected)
        for label in WITH_PAST_VERSIONS
        for method, expected in [
            ("get", admin_expect(FORBIDDEN, OK, OK)),
            ("post", admin_expect(FORBIDDEN, FORBIDDEN, FORBIDDEN)),  # no reverting from the history
        ]
    ],
    # Sending a mail again takes the change permission and a POST (chorus/admin.py); a GET leads back to the mail.
    AdminCase(
        "admin:resend",
        "get",
        _email_page("admin:resend"),
        admin_expect(
            FORBIDDEN, FORBIDDEN, Outcome(302, _model_page("post_office.email", "change"), name="back, unsent")
        ),
    ),
    AdminCase(
        "admin:resend",
        "post",
        _email_page("admin:resend"),
        admin_expect(FORBIDDEN, FORBIDDEN, done(_model_page("post_office.email", "change"))),
    ),
    *[
        AdminCase(
            "admin:auth_user_password_change",
            method,
            lambda w: reverse("admin:auth_user_password_change", args=[_object(w, "accounts.user").pk]),
            admin_expect(FORBIDDEN, FORBIDDEN, OK),  # the POST is empty: the form's errors
        )
        for method in ["get", "post"]
    ],
]

ADMIN_CASES = [
    *[case for label, rights in RIGHTS.items() for case in model_cases(label, rights)],
    *action_cases(),
    *SITE_CASES,
]


# ---------------------------------------------------------------------------
# The guard: the resolver's URLs, the admin's models and actions, all in the matrix


def url_names(patterns, namespace: str = "", prefix: str = ""):
    """Every pattern's namespaced name (unnamed ones by their route), walking the includes."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace:
                yield from url_names(entry.url_patterns, f"{namespace}{entry.namespace}:", "")
            else:
                yield from url_names(entry.url_patterns, namespace, prefix + str(entry.pattern))
        else:
            yield namespace + (entry.name or _unnamed(prefix + str(entry.pattern)))


def test_every_url_is_in_the_matrix():
    names = list(url_names(get_resolver().url_patterns))
    in_matrix = {name for name, _ in PORTAL} | set(PUBLIC) | {case.key for case in ADMIN_CASES}

    assert len(names) == len(set(names)), "two patterns share a name: one of them is out of reach of reverse()"
    assert set(names) - in_matrix == set(), "URLs without an entry in the matrix"
    assert in_matrix - set(names) == set(), "entries for URLs that no longer exist"


def _action_names(model_admin, location=ActionLocation.CHANGE_LIST) -> list[str]:
    return [action.name for action in model_admin._get_base_actions(location)]


def test_every_admin_model_and_action_is_in_the_matrix():
    registered = {model._meta.label_lower: model_admin for model, model_admin in admin.site._registry.items()}
    actions = {
        (label, name)
        for label, model_admin in registered.items()
        for name in _action_names(model_admin)
        if name != "delete_selected"
    }

    on_pages = {
        (label, name)
        for label, model_admin in registered.items()
        for name in _action_names(model_admin, ActionLocation.CHANGE_FORM)
    }

    assert set(registered) == set(RIGHTS)
    assert actions == set(ADMIN_ACTIONS)
    assert on_pages == CHANGE_FORM_ACTIONS
    assert set(GROUP_RIGHTS) <= set(RIGHTS)


# ---------------------------------------------------------------------------
# The cases

# Append-only traces that any request may add to (sign-in, sign-out): not state a refusal could change.
NOT_SNAPSHOT = {"audit.auditevent", "axes.accesslog"}


def _tables() -> list[tuple[str, str]]:
    models = [model for model in admin.site._registry if model._meta.label_lower not in NOT_SNAPSHOT]
    models += [User.groups.through, User.user_permissions.through, Group.permissions.through]
    return [(model._meta.db_table, model._meta.pk.column) for model in models]


def snapshot() -> dict:
    """Every admin-registered table (but the traces), groups' and users' permissions, and the mail sent so far.

    Plain SQL, whole rows: twice per case, the ORM would cost more than the request.
    """
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        tables = {}
        for table, pk in _tables():
            cursor.execute(f"SELECT * FROM {quote(table)} ORDER BY {quote(pk)}")
            tables[table] = cursor.fetchall()
    return {"tables": tables, "mail.outbox": len(mail.outbox)}


def check(response, outcome: Outcome, world, path: str, before: dict):
    assert response.status_code == outcome.status, _explain(response)
    if outcome.location is not None:
        expected = outcome.location(world, path)
        if isinstance(expected, re.Pattern):  # a location that names the persona's own object
            assert expected.fullmatch(response["Location"]), response["Location"]
        else:
            assert response["Location"] == expected
    if not outcome.changes:
        assert snapshot() == before


def _explain(response) -> str:
    """A short why, for a failing case: the form's errors, else the page's heading."""
    if response.status_code >= 500 and getattr(response, "exc_info", None):
        return "server error: " + "".join(traceback.format_exception(*response.exc_info)[-2:])
    if response.has_header("Location"):
        return f"redirected to {response['Location']}"
    form = (response.context or {}).get("form") if response.context is not None else None
    if form is not None and form.errors:
        return f"form errors: {form.errors.as_data()}"
    text = "" if response.streaming else response.content.decode(errors="replace")
    start = text.find("<h1")
    return text[start : start + 300] if start >= 0 else text[:300]


def _full_path(url: str, method: str, data: dict) -> str:
    return f"{url}?{urlencode(data, doseq=True)}" if method == "get" and data else url


PORTAL_CASES = [
    pytest.param(name, method, persona, outcome, id=f"{method}-{name}-{persona}")
    for (name, method), outcomes in PORTAL.items()
    for persona, outcome in outcomes.items()
]


@pytest.mark.parametrize(("name", "method", "persona", "outcome"), PORTAL_CASES)
def test_portal(world, db, name, method, persona, outcome):
    client = world.browser(persona)
    url = portal_url(world, name)
    data = DATA.get((name, method), lambda w: {})(world)
    if method == "post" and name in FOLLOW_LINK_FIRST:
        url = client.get(url)["Location"]
    before = snapshot()

    response = getattr(client, method)(url, data)

    if response.streaming:  # read it through: the client's wrapper then closes the file (a RIB)
        b"".join(response.streaming_content)
    check(response, outcome, world, _full_path(url, method, data), before)


ADMIN_PARAMS = [
    pytest.param(case, persona, case.expected[persona], id=f"{case.id}-{persona}")
    for case in ADMIN_CASES
    for persona in ADMIN_PERSONAS
]


@pytest.mark.parametrize(("case", "persona", "outcome"), ADMIN_PARAMS)
def test_admin(world, db, case, persona, outcome):
    client = world.browser(persona)
    url, data = case.url(world), case.data(world)
    before = snapshot()

    response = getattr(client, case.method)(url, data)

    check(response, outcome, world, _full_path(url, case.method, data), before)


def test_private_files_have_no_url(world, db):
    """RIB files are served by `rib_download` only: their storage path is no URL, even to their managers."""
    path = f"{settings.MEDIA_URL}{world.account.rib.name}"

    assert world.browser("manager").get(path).status_code == 404
    assert world.browser("anonymous").get(path).status_code == 404


def test_the_snapshot_sees_a_step_go_through(world, db):
    """The refusals' « nothing changed » would be empty if the snapshot could not see a change."""
    before = snapshot()

    response = world.browser("manager").post(reverse("approvals:approve", args=[world.pending.pk]))

    assert response.status_code == 302
    after = snapshot()
    changed = {table for table in before["tables"] if before["tables"][table] != after["tables"][table]}
    assert {"approvals_approvalrequest", "structures_membership", "post_office_email"} <= changed
