"""R5: bad input never gives a 500, never half-saves, never reflects raw HTML, never reaches a mail header.

A matrix over every form and URL parameter of the portal. Each case sends one attack (malformed, 10^5
characters, RTL/combining/emoji, NUL, invalid UTF-8 standing for lone surrogates, CR/LF, HTML, SQL-ish
text, forged ids, tampered tokens, forged files, oversized requests) and asserts:

- no 500 (the client does not raise; a 5xx fails with the server's traceback);
- HTML answers never contain the raw payload, and no header carries CR/LF;
- a refused form changes nothing: users, structures, memberships, bank accounts, approval requests,
  queued mails, history rows and RIB files are compared before and after;
- every mail that does go out has clean headers and exactly one, expected, recipient.

Each test takes one form field (or route) and runs its named attacks one after the other, each in a
savepoint rolled back afterwards, then reports every failing attack at once: the world is built once
per test, not once per attack. Hypothesis explores around the named attacks (few examples, no deadline).
Its hypothesis tests cover those of tests/accounts/test_bad_input_fuzz.py and
tests/structures/test_bad_input_fuzz.py (same properties, same or wider strategies).
"""

import email
import email.policy
import io
import os
import re
import struct
import time
import traceback
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from email.utils import getaddresses
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import pikepdf
import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import urlsafe_base64_encode
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from post_office.models import STATUS, Email

from accounts.models import AddressChange, User
from accounts.tokens import activation_token
from approvals.models import ApprovalRequest
from chorus import reauth
from chorus.mail import deliver_queued
from structures.forms import StructureForm
from structures.models import BankAccount, Membership, Structure
from tests.factories import PASSWORD, STRUCTURE_FORM, BankAccountFactory, make_siret
from tests.structures.conftest import PDF, arm_pdf, image_bytes, pdf_bytes, png_chunk, png_claiming, png_of

FUZZ = hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
typed = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)

# --- payloads ---------------------------------------------------------------------------------------------------

EVIL = "pirate@evil.example"
XSS = '<script>alert("r5")</script>"><img src=x onerror=alert(5)>'
RAW_MARKERS = ('<script>alert("r5")', "<img src=x onerror=alert(5)>")
HUGE = "a" * 100_000

# Typed into every text field. Lone surrogates cannot be encoded by the test client (nor by a browser):
# RAW_BYTES sends them, and other invalid UTF-8, percent-encoded.
NASTY = {
    "empty": "",
    "blank": " \t\u00a0\u2003 ",
    "huge": HUGE,
    "nul": "Jean\x00ne",
    "crlf": f"Jeanne\r\nBcc: {EVIL}\r\n",
    "controls": "Je\x07an\x1bne\x0b\x0c\x1c\x7f",
    "html": XSS,
    "unicode": "\u202eenaéJ\u202c Zoe\u0301\u0308\u0327 👩‍🌾🚜🇫🇷 \u05e9\u05dc\u05d5\u05dd \ufeff\u200b",
    "sql": "Jeanne' OR '1'='1'; DROP TABLE accounts_user; --",
    "digits": "١٢٣٤٥٦٧٨٩٠١٢٣٤٥",  # 15 Arabic-Indic digits: isdigit(), not ASCII
}
# Addresses to refuse: header injection, several recipients, characters that Python's mail module takes for
# line breaks (a mail to them can never be built), invalid ones.
BAD_EMAILS = {
    "crlf bcc": f"jeanne@exemple.fr\r\nBcc: {EVIL}",
    "lf cc": f"jeanne@exemple.fr\nCc: {EVIL}",
    "cr": f"jeanne@exemple.fr\rBcc: {EVIL}",
    "encoded crlf": f"jeanne@exemple.fr%0d%0aBcc:{EVIL}",
    "two addresses": f"jeanne@exemple.fr, {EVIL}",
    "display name": f"Jeanne <{EVIL}>",
    "vertical tab": '"jeanne\x0b"@exemple.fr',
    "file separator": '"jeanne\x1c"@exemple.fr',
    "nul in the address": "jeanne\x00@exemple.fr",
    "huge address": HUGE + "@exemple.fr",
    "unicode local part": "jéanne@exemple.fr",
    "rtl": "jeanne\u202e@exemple.fr",
    "html address": f"{XSS}@exemple.fr",
}
# Odd but valid addresses: may be accepted, and then must reach exactly one mailbox.
ODD_EMAILS = {
    "quoted comma": f'"{EVIL},"@exemple.fr',
    "quoted html": '"<img src=x onerror=alert(5)>"@exemple.fr',
    "idn domain": "jeanne@exémple.fr",
    "sql-ish": "jeanne'--@exemple.fr",
    "trailing newline": "jeanne.odd@exemple.fr\n",
}
RAW_BYTES = {
    "lone surrogate": "%ED%A0%80",
    "surrogate halves reversed": "%ED%B0%80%ED%A0%80",
    "invalid utf-8": "%FF%FE%FD",
    "overlong slash": "%C0%AF",
    "truncated sequence": "%E2%82",
    "nul": "%00",
}

# --- files --------------------------------------------------------------------------------------------------------

HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
PAYLOAD = b"<script>alert('polyglot')</script>"


def jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(image_bytes("JPEG"))
    start = data.index(b"\xff\xc0")  # baseline start of frame: marker, length, precision, height, width
    struct.pack_into(">HH", data, start + 5, height, width)
    return bytes(data)


@cache
def ztxt_bomb() -> bytes:
    """A 60 × 40 PNG whose text chunk inflates to 64 MiB."""
    text = png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(b"\x00" * (64 * 1024 * 1024), 9))
    return png_claiming(60, 40, extra=text)


def multipart(fields: dict, files: list[tuple[str, str, bytes]], boundary: str = "r5Boundary7MA4YWxkTrZu0gW") -> dict:
    """A multipart body built by hand: the test client would strip the file names we want to send."""
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        body += (value if isinstance(value, bytes) else str(value).encode()) + b"\r\n"
    for name, filename, content in files:
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'.encode()
        body += b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


# --- the portal's state, and how to call it -----------------------------------------------------------------------


@cache
def password_hash() -> str:
    """One Argon2 hash for every user of the file: the real hasher, paid once."""
    return make_password(PASSWORD)


def make_user(address: str, first_name: str, last_name: str, **fields) -> User:
    fields.setdefault("is_active", True)
    fields.setdefault("activated_at", timezone.now() if fields["is_active"] else None)
    return User.objects.create(
        email=address,
        first_name=first_name,
        last_name=last_name,
        password=password_hash() if fields["is_active"] else "!unusable",
        terms_accepted_at=timezone.now(),
        terms_version=settings.TERMS_VERSION,
        **fields,
    )


def member_of(structure, user, role=Membership.Role.USER) -> Membership:
    return Membership.objects.create(structure=structure, user=user, role=role)


@pytest.fixture
def portal(db, private_media, mailoutbox):
    """Two farms, their managers and users, pending requests, bank accounts with stored RIBs."""
    farm = Structure.objects.create(
        siret=make_siret(),
        name="EARL du Champ",
        address="1 chemin des Blés",
        postal_code="26400",
        city="Crest",
        beneficiary_category=Structure.BeneficiaryCategory.FARMING_COMPANY,
        pacage="026123456",
    )
    other_farm = Structure.objects.create(siret=make_siret(), name="GAEC Voisin")
    w = SimpleNamespace(farm=farm, other_farm=other_farm)
    w.manager = make_user("marie@exemple.fr", "Marie", "Gestion")
    w.deputy = make_user("gaston@exemple.fr", "Gaston", "Adjoint", contact_email="gaston@contact.fr")
    w.member = make_user("ulysse@exemple.fr", "Ulysse", "Membre")
    w.awaiting = make_user("attente@exemple.fr", "Alice", "Attente", is_active=False, activation_sent_at=timezone.now())
    w.other_manager = make_user("bertrand@exemple.fr", "Bertrand", "Voisin")
    w.other_member = make_user("oscar@exemple.fr", "Oscar", "Voisin")
    w.requester = make_user("romane@exemple.fr", "Romane", "Demande")
    w.manager_membership = member_of(farm, w.manager, Membership.Role.MAIN_MANAGER)
    w.deputy_membership = member_of(farm, w.deputy, Membership.Role.MANAGER)
    w.member_membership = member_of(farm, w.member)
    w.awaiting_membership = member_of(farm, w.awaiting)
    member_of(other_farm, w.other_manager, Membership.Role.MAIN_MANAGER)
    w.other_membership = member_of(other_farm, w.other_member)
    w.request = ApprovalRequest.objects.create(requester=w.requester, structure=farm, comment="Salariée")
    w.other_request = ApprovalRequest.objects.create(requester=w.requester, structure=other_farm)
    w.account = BankAccountFactory(structure=farm, label="Compte courant", created_by=w.manager)
    w.spare = BankAccountFactory(
        structure=farm, label="Compte épargne", iban="FR1420041010050500013M02606", bic="PSSTFRPPXXX", is_default=False
    )
    w.other_account = BankAccountFactory(structure=other_farm, label="Compte voisin")
    w.farm_managers = {"marie@exemple.fr", "gaston@contact.fr"}
    return w


def browser(user=None, *, fresh: bool = True, **kwargs) -> Client:
    """A client that answers a 500 instead of raising it (`answer` turns it into a failure)."""
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user)
        if fresh:  # the password was typed a moment ago (bank details, handover)
            session = client.session
            session[reauth.SESSION_KEY] = int(time.time())
            session.save()
    return client


def server_error(response) -> str:
    """The exception behind a 5xx, with the project's own frames."""
    if not response.exc_info:
        return ""
    _, error, tb = response.exc_info
    frames = [frame for frame in traceback.extract_tb(tb) if "site-packages" not in frame.filename]
    where = "".join(f"\n  {frame.filename}:{frame.lineno} in {frame.name}: {frame.line}" for frame in frames)
    return f"{type(error).__name__}: {error}{where}"


def answer(client: Client, method: str, url: str, data=None, **kwargs):
    """Sends the request; fails on a 5xx, on a raw payload in an HTML answer, on CR/LF in a header.

    `method` "raw" posts `data` as the body's exact bytes (the client would re-encode them for a charset).
    """
    if method == "raw":
        response = client.generic("POST", url, data, **kwargs)
    else:
        response = getattr(client, method)(url, data, **kwargs)
    where = f"{method.upper()} {url[:120]}"
    if response.status_code >= 500:
        pytest.fail(f"{response.status_code} on {where}: {server_error(response)}", pytrace=False)
    for header, value in response.items():
        assert "\r" not in value and "\n" not in value, f"CR/LF in the {header} header on {where}"
    if response.get("Content-Type", "").startswith("text/html") and not response.streaming:
        page = response.content.decode(errors="replace")
        for raw in RAW_MARKERS:
            assert raw not in page, f"raw HTML reflected on {where}"
    return response


def rib_root() -> Path:
    return Path(BankAccount._meta.get_field("rib").storage.location)


TRACKED = [
    User,
    AddressChange,
    Structure,
    Membership,
    BankAccount,
    ApprovalRequest,
    Email,
    Structure.history.model,
    Membership.history.model,
    BankAccount.history.model,
]


@cache
def snapshot_queries() -> list[tuple[str, str]]:
    """One plain SELECT per tracked table, primary key first (the ORM's compiling cost, paid once)."""
    quote_name = connection.ops.quote_name
    queries = []
    for model in TRACKED:
        # last_login: signing the test's browser in is not the form's doing.
        fields = [
            model._meta.pk,
            *(f for f in model._meta.concrete_fields if f.name != "last_login" and not f.primary_key),
        ]
        columns = ", ".join(quote_name(field.column) for field in fields)
        table, pk = quote_name(model._meta.db_table), quote_name(model._meta.pk.column)
        queries.append((model._meta.label, f"SELECT {columns} FROM {table} ORDER BY {pk}"))
    return queries


def snapshot() -> dict:
    """Every row of the tracked tables, and the RIB files on disk."""
    state = {}
    with connection.cursor() as cursor:
        for label, sql in snapshot_queries():
            cursor.execute(sql)
            state[label] = cursor.fetchall()
    root = rib_root()
    state["RIB files"] = sorted(
        os.path.relpath(os.path.join(folder, name), root) for folder, _, names in os.walk(root) for name in names
    )
    return state


def assert_unchanged(before: dict) -> None:
    after = snapshot()
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"refused, yet changed: {changed}"


def assert_refused(response, before: dict, field: str | None = None) -> None:
    """The form came back with errors (shown next to `field` when given) and nothing was written."""
    assert response.status_code == 200, f"expected the form back, got {response.status_code}"
    form = response.context["form"]
    assert form.errors, "the form took the input"
    if field is not None:
        assert field in form.errors, f"no error on {field}: {dict(form.errors)}"
        assert f'id="{form[field].auto_id}_error"' in response.content.decode(), "error not shown by the field"
    assert_unchanged(before)


def assert_clean_mail(allowed: set[str]) -> int:
    """Queued mails: one allowed recipient each, no line break in an address or subject, escaped HTML.

    Then the worker sends them: none may fail, and the built messages carry one To and no Cc/Bcc.
    """
    line_breaks = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
    for queued in Email.objects.filter(status__in=[STATUS.queued, STATUS.requeued]):
        addresses = [*queued.to, *queued.cc, *queued.bcc]
        assert len(addresses) == 1 and addresses[0] in allowed, f"mail to {addresses}, expected one of {allowed}"
        assert not line_breaks.search(addresses[0]), f"line break in the address {addresses[0]!r}"
        assert not line_breaks.search(queued.subject), f"line break in the subject {queued.subject!r}"
        for raw in RAW_MARKERS:
            assert raw not in (queued.html_message or ""), "raw HTML in a mail"
    mail.outbox.clear()
    deliver_queued()
    assert not Email.objects.filter(status=STATUS.failed).exists(), "a mail could not be built or sent"
    for message in mail.outbox:
        head = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
        assert head.get_all("Bcc") is None and head.get_all("Cc") is None
        recipients = getaddresses(head.get_all("To", []))
        assert len(recipients) == 1 and not recipients[0][1].lower().endswith("@evil.example"), recipients
        envelope = message.recipients()  # what the SMTP server is told
        assert len(envelope) == 1 and envelope[0].rsplit("@", 1)[-1].lower() != "evil.example", envelope
    return len(mail.outbox)


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def each_case(cases: dict, check: Callable[[str, object], None]) -> None:
    """Runs check(name, value) per case in a rolled-back savepoint; fails once, listing every failing case.

    Tests sign their clients in before calling this, outside the savepoints, so that sessions outlive the cases.
    """
    failures = []
    for name, value in cases.items():
        try:
            with rolled_back():
                check(name, value)
        except (AssertionError, pytest.fail.Exception) as error:
            failures.append(f"[{name}] {str(error).splitlines()[0] if str(error) else type(error).__name__}")
            failures.extend(f"    {line}" for line in str(error).splitlines()[1:12])
    if failures:
        pytest.fail(f"{len(cases)} cases, failing:\n" + "\n".join(failures), pytrace=False)


def attacks_for(kind: str) -> dict:
    """The NASTY values a field of this kind gets: choices and checkboxes share Django's code, fewer suffice."""
    if kind.startswith("choice"):
        return {name: NASTY[name] for name in ("empty", "huge", "nul", "html", "unicode", "sql")}
    if kind.startswith("bool"):
        return {name: NASTY[name] for name in ("empty", "huge", "html")}
    return NASTY


def must_refuse(kind: str, value_name: str) -> bool:
    """Whether a NASTY value must be refused by a field of this kind: some nasty text is a fine name."""
    if kind == "bool":
        return False  # a checkbox reads any non-empty value as ticked
    if kind == "bool_required":
        return value_name == "empty"
    if kind in ("text", "text_required"):
        return value_name in {"huge", "nul"} or (kind == "text_required" and value_name in {"empty", "blank"})
    if kind in ("format", "choice"):  # optional: left empty is fine
        return value_name not in {"empty", "blank"}
    return True  # format_required, choice_required


# --- sign-up ------------------------------------------------------------------------------------------------------

SIGNUP = reverse("accounts:signup")
SIGNUP_FIELDS = {
    "email": "format_required",
    "email_confirmation": "format_required",
    "first_name": "text_required",
    "last_name": "text_required",
    "phone": "format",
    "contact_email": "format",
    "accept_terms": "bool_required",
    "identifier_type": "choice_required",
    "identifier": "format_required",
    "captcha_0": "format_required",
    "captcha_1": "format_required",
}
SIGNUP_ERROR_FIELD = {"captcha_0": "captcha", "captcha_1": "captcha"}


def signup_went_through(response, before) -> None:
    """The recap (escaped), at most one new user, mail only to the addresses typed."""
    assert response.status_code == 302 and response.url == reverse("accounts:signup_done"), response.status_code
    assert User.objects.count() - len(before["accounts.User"]) <= 1
    answer(response.client, "get", response.url)
    assert_clean_mail({address for user in User.objects.all() for address in (user.email, user.contact_email)})


@pytest.mark.parametrize("field", SIGNUP_FIELDS)
def test_sign_up(portal, signup_data, field):
    kind = SIGNUP_FIELDS[field]
    client = browser()

    def check(name, value):
        data = signup_data(**{field: value})
        before = snapshot()
        response = answer(client, "post", SIGNUP, data)
        if response.status_code == 200 or must_refuse(kind, name):
            assert_refused(response, before, SIGNUP_ERROR_FIELD.get(field, field))
        else:
            signup_went_through(response, before)
            if field in ("first_name", "last_name"):
                assert getattr(User.objects.get(email=data["email"]), field) == " ".join(value.split())

    each_case(attacks_for(kind), check)


@pytest.mark.parametrize("field", ["email", "contact_email"])
def test_sign_up_addresses_never_reach_a_mail_header(portal, signup_data, field):
    client = browser()

    def check(name, value):
        data = signup_data(**{field: value})
        before = snapshot()
        response = answer(client, "post", SIGNUP, data)
        if response.status_code == 200 or name in BAD_EMAILS:
            assert_refused(response, before, field)
        else:  # accepted: then each mail reaches that one mailbox
            signup_went_through(response, before)

    each_case({**BAD_EMAILS, **ODD_EMAILS}, check)


@pytest.mark.parametrize("field", ["email", "first_name", "identifier", "captcha_1"])
def test_sign_up_invalid_utf8(portal, signup_data, field):
    client = browser()

    def check(name, raw):
        pairs = signup_data(**{field: "X"}).items()
        body = "&".join(f"{key}={raw if key == field else quote_plus(value)}" for key, value in pairs)
        before = snapshot()
        response = answer(client, "raw", SIGNUP, body, content_type="application/x-www-form-urlencoded")
        if response.status_code == 200:
            assert_refused(response, before)
        else:  # a name may hold U+FFFD
            assert field == "first_name" and name != "nul"
            signup_went_through(response, before)

    each_case(RAW_BYTES, check)


@pytest.mark.parametrize("target", ["profile", "structure update", "refuse", "attachment request"])
def test_invalid_utf8_in_signed_in_forms(portal, target):
    persona, path = FORM_ROUTES[target]
    field, base = {
        "profile": ("first_name", PROFILE_BASE),
        "structure update": ("name", STRUCTURE_FORM),
        "refuse": ("reason", {"reason": "Non"}),
        "attachment request": ("comment", {"siret": portal.other_farm.siret, "comment": "Bonjour"}),
    }[target]
    url = path.format(farm=portal.farm.pk, request=portal.request.pk)
    client = browser(getattr(portal, persona))

    def check(name, raw):
        body = "&".join(f"{key}={raw if key == field else quote_plus(value)}" for key, value in base.items())
        before = snapshot()
        response = answer(client, "raw", url, body, content_type="application/x-www-form-urlencoded")
        if response.status_code == 200 or name == "nul":
            assert_refused(response, before, field)
        else:  # U+FFFD is text like any other
            assert response.status_code == 302

    each_case(RAW_BYTES, check)


signup_text = st.one_of(typed, st.sampled_from([*NASTY.values(), *BAD_EMAILS.values(), *ODD_EMAILS.values()]))


@FUZZ
@given(valid_base=st.booleans(), values=st.fixed_dictionaries({}, optional=dict.fromkeys(SIGNUP_FIELDS, signup_text)))
def test_sign_up_fuzz(portal, signup_data, valid_base, values):
    with rolled_back():
        data = {**signup_data(), **values} if valid_base else values
        before = snapshot()

        response = answer(browser(), "post", SIGNUP, data)

        if response.status_code == 200:
            assert_refused(response, before)
        else:
            signup_went_through(response, before)


# --- activation and reset links -----------------------------------------------------------------------------------

STRONG = "Tracteur-Bleu-Colza-2031"


def uid(value) -> str:
    return urlsafe_base64_encode(str(value).encode())


def forged_links(user, other, token: str) -> dict[str, tuple[str, str]]:
    """(uidb64, token) pairs that must open the set-password form for nobody."""
    good, signature = uid(user.pk), token.split("-", 1)[1]
    return {
        "token tampered": (good, token[:-1] + ("a" if token[-1] != "a" else "b")),
        "token truncated": (good, token[: len(token) // 2]),
        "token without timestamp": (good, signature),
        "token huge": (good, token + "a" * 100_000),
        "token many dashes": (good, "-".join([token] * 5)),
        "token timestamp overflow": (good, "z" * 14 + "-" + signature),
        "token unicode timestamp": (good, "ⅰ٣-" + signature),
        "token html": (good, quote(XSS, safe="")),
        "token lone surrogate": (good, "%ED%A0%80"),
        "other user's uid": (uid(other.pk), token),
        "uid truncated": (good[:-1], token),
        "uid not base64": ("!!!", token),
        "uid of nobody": (uid(10**9), token),
        "uid huge int": (uid(10**40), token),
        "uid bigint overflow": (uid(2**63), token),
        "uid negative": (uid(-user.pk), token),
        "uid not a number": (uid("abc"), token),
        "uid with nul": (urlsafe_base64_encode(f"{user.pk}\x00".encode()), token),
        "uid invalid utf-8": (urlsafe_base64_encode(b"\xff\xfe\xfd"), token),
        "uid huge": ("A" * 100_000, token),
        "uid lone surrogate": ("%ED%A0%80", token),
    }


def assert_invalid_link(*responses) -> None:
    for response in responses:
        assert response.status_code in (200, 404), response.status_code
        assert response.status_code == 404 or not response.context["validlink"], "the forged link opened the form"


@pytest.mark.parametrize("kind", ["activation", "reset"])
def test_forged_links_open_nothing_and_change_nothing(portal, kind):
    """Activation links activate nobody, reset links change no password, whatever is forged in them."""
    if kind == "activation":
        user, other, prefix, step = portal.awaiting, portal.member, "/compte/activer", "mot-de-passe"
        right, wrong = activation_token, default_token_generator
    else:
        user, other, prefix, step = portal.member, portal.deputy, "/compte/mot-de-passe-oublie", "nouveau-mot-de-passe"
        right, wrong = default_token_generator, activation_token
    links = forged_links(user, other, right.make_token(user))
    links[f"the other kind of token used for {kind}"] = (uid(user.pk), wrong.make_token(user))

    def check(name, link):
        uidb64, token = link
        client, before = browser(), snapshot()
        opened = answer(client, "get", f"{prefix}/{uidb64}/{token}/", follow=True)
        data = {"new_password1": STRONG, "new_password2": STRONG}
        posted = answer(client, "post", f"{prefix}/{uidb64}/{step}/", data)
        assert_invalid_link(opened, posted)
        assert_unchanged(before)

    each_case(links, check)


def test_a_token_in_the_session_does_not_follow_a_swapped_uid(portal):
    """The link's token moves to the session; posting under another user's uid does not carry it over."""
    second = make_user("bis@exemple.fr", "Bis", "Attente", is_active=False, activation_sent_at=timezone.now())
    client = browser()
    opened = answer(
        client, "get", f"/compte/activer/{uid(portal.awaiting.pk)}/{activation_token.make_token(portal.awaiting)}/"
    )
    assert opened.status_code == 302
    before = snapshot()

    data = {"new_password1": STRONG, "new_password2": STRONG}
    response = answer(client, "post", f"/compte/activer/{uid(second.pk)}/mot-de-passe/", data)

    assert_invalid_link(response)
    assert_unchanged(before)


@FUZZ
@given(uidb64=typed.filter(bool), token=typed.filter(bool))
def test_activation_and_reset_links_fuzz(portal, uidb64, token):
    before = snapshot()
    for prefix in ("/compte/activer/", "/compte/mot-de-passe-oublie/"):
        response = answer(browser(), "get", f"{prefix}{quote(uidb64, safe='')}/{quote(token, safe='')}/", follow=True)
        assert_invalid_link(response)
    assert_unchanged(before)


PASSWORD_ATTACKS = {**NASTY, "mismatch": "Tracteur-Bleu-Colza-2032", "too short": "Ab1-", "129 characters": "Ab1-" * 33}


@pytest.mark.parametrize("field", ["new_password1", "new_password2"])
@pytest.mark.parametrize("link", ["activation", "reset"])
def test_set_password_step(portal, link, field):
    user = portal.awaiting if link == "activation" else portal.member
    prefix, generator = {
        "activation": ("/compte/activer/", activation_token),
        "reset": ("/compte/mot-de-passe-oublie/", default_token_generator),
    }[link]

    def check(name, value):
        client = browser()
        opened = answer(client, "get", f"{prefix}{uid(user.pk)}/{generator.make_token(user)}/")
        assert opened.status_code == 302
        before = snapshot()
        response = answer(client, "post", opened.url, {"new_password1": STRONG, "new_password2": STRONG, field: value})
        assert_refused(response, before)

    each_case(PASSWORD_ATTACKS, check)


# --- the address-only forms: reset request, new activation link ----------------------------------------------------


@pytest.mark.parametrize("url", [reverse("accounts:password_reset"), reverse("accounts:resend_activation")])
def test_address_forms(portal, url):
    cases = {
        **{f"nasty {name}": value for name, value in NASTY.items()},
        **BAD_EMAILS,
        **ODD_EMAILS,
        "awaiting address with crlf": f"attente@exemple.fr\r\nBcc: {EVIL}",
        "awaiting address, two recipients": f"attente@exemple.fr, {EVIL}",
    }

    client = browser()

    def check(name, value):
        before = snapshot()
        response = answer(client, "post", url, {"email": value})
        if response.status_code == 200:
            assert_refused(response, before, "email")
        else:
            assert name in ODD_EMAILS, "should have been refused"
            assert_unchanged(before)  # none of these addresses awaits a link

    each_case(cases, check)


@pytest.mark.parametrize("url", [reverse("accounts:password_reset"), reverse("accounts:resend_activation")])
def test_address_forms_mail_only_the_address_asked(portal, url):
    response = answer(browser(), "post", url, {"email": "  ATTENTE@Exemple.fr \n"})

    assert response.status_code == 302
    assert assert_clean_mail({"attente@exemple.fr"}) == 1


# --- sign-in, password confirmation, next= ------------------------------------------------------------------------

LOGIN = reverse("accounts:login")
CONFIRM = reverse("accounts:confirm_password")
OFF_SITE = {
    "protocol relative": "//evil.example/",
    "absolute": "https://evil.example/",
    "backslash": "/\\evil.example/",
    "double backslash": "\\\\evil.example",
    "javascript": "javascript:alert(5)",
    "data": "data:text/html,<script>alert(5)</script>",
    "scheme without slashes": "https:evil.example",
    "leading space": " //evil.example",
    "tab": "/\t/evil.example",
    "crlf": "/\r\nSet-Cookie: pwned=1",
    "encoded crlf": "/%0d%0aSet-Cookie:%20pwned=1",
    "nul": "\x00//evil.example",
    "fullwidth slash": "/\uff0f/evil.example",
    "userinfo": "https://testserver@evil.example/",
    "huge": "/" + HUGE,
    "html": f"/{XSS}",
}


def assert_stays_on_site(response) -> None:
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https") and parts.netloc in ("", "testserver"), location[:100]
    assert not location.startswith(("//", "/\\")), location[:100]
    assert "pwned" not in response.cookies


@pytest.mark.parametrize("url", [LOGIN], ids=["portal"])
@pytest.mark.parametrize("field", ["username", "password"])
def test_sign_in(portal, url, field):
    cases = {**NASTY, **(BAD_EMAILS if field == "username" else {})}

    client = browser()

    def check(name, value):
        before = snapshot()
        response = answer(client, "post", url, {"username": "marie@exemple.fr", "password": PASSWORD, field: value})
        assert_refused(response, before)
        assert "_auth_user_id" not in client.session

    each_case(cases, check)


@pytest.mark.parametrize("field", ["username", "password"])
def test_the_admin_sign_in_reads_nothing_posted(portal, field):
    """Staff sign in on the portal's page; the admin's sends there whatever is posted to it."""
    client = browser()

    def check(name, value):
        before = snapshot()
        data = {"username": "marie@exemple.fr", "password": PASSWORD, field: value}
        response = answer(client, "post", "/administration/login/", data)
        assert response.status_code == 302 and response.url.startswith(LOGIN), server_error(response)
        assert_unchanged(before)
        assert "_auth_user_id" not in client.session

    each_case({**NASTY, **(BAD_EMAILS if field == "username" else {})}, check)


def test_sign_in_next_never_leaves_the_site(portal):
    def check(name, next_url):
        data = {"username": "marie@exemple.fr", "password": PASSWORD}
        assert_stays_on_site(answer(browser(), "post", f"{LOGIN}?{urlencode({'next': next_url})}", data))

    each_case(OFF_SITE, check)


def test_failed_sign_in_with_odd_headers(portal, settings):
    """django-axes stores the agent and address of each failure; behind a proxy, the address is a header's."""
    settings.TRUSTED_PROXY_COUNT = 1
    cases = {
        "huge headers": {"HTTP_USER_AGENT": HUGE, "HTTP_ACCEPT": HUGE, "HTTP_ACCEPT_LANGUAGE": HUGE},
        "control characters": {"HTTP_USER_AGENT": "Moz\x00illa\x1b<script>"},
        "nul in accept": {"HTTP_ACCEPT": "text/html\x00", "HTTP_ACCEPT_LANGUAGE": "fr\x00"},
        "scoped ipv6": {"HTTP_X_FORWARDED_FOR": "fe80::1%eth0"},
        "junk": {"HTTP_X_FORWARDED_FOR": "<script>, 999.1.1.1, \x00"},
        "empty entries": {"HTTP_X_FORWARDED_FOR": ", , ,"},
        "mapped ipv4": {"HTTP_X_FORWARDED_FOR": "::ffff:10.0.0.1"},
        "huge address list": {"HTTP_X_FORWARDED_FOR": ", ".join(["10.0.0.1"] * 10_000)},
    }

    client = browser()

    def check(name, headers):
        before = snapshot()
        response = answer(client, "post", LOGIN, {"username": "marie@exemple.fr", "password": "wrong"}, **headers)
        assert_refused(response, before)

    each_case(cases, check)


def test_a_sign_in_with_control_characters_in_its_headers_goes_through(portal):
    headers = {"HTTP_USER_AGENT": "Moz\x00illa", "HTTP_ACCEPT": "text/html\x00"}
    response = answer(browser(), "post", LOGIN, {"username": "marie@exemple.fr", "password": PASSWORD}, **headers)
    assert response.status_code == 302, server_error(response)


@FUZZ
@given(username=st.one_of(typed, st.sampled_from(["marie@exemple.fr", *BAD_EMAILS.values()])), password=typed)
def test_sign_in_fuzz(portal, username, password):
    with rolled_back():  # axes' failures too: the form stays under test, not the lockout
        client, before = browser(), snapshot()

        response = answer(client, "post", LOGIN, {"username": username, "password": password})

        assert_refused(response, before)


def test_confirm_password(portal):
    client = browser(portal.manager, fresh=False)

    def check(name, value):
        before = snapshot()
        assert_refused(answer(client, "post", CONFIRM, {"password": value, "next": "/"}), before, "password")
        assert reauth.SESSION_KEY not in client.session

    each_case(NASTY, check)


@pytest.mark.parametrize("method", ["get", "post"])
def test_confirm_password_next_never_leaves_the_site(portal, method):
    def check(name, next_url):
        client = browser(portal.manager, fresh=False)
        if method == "get":
            url = f"{CONFIRM}?{urlencode({'next': next_url})}"
            assert answer(client, "get", url).status_code == 200
            response = answer(client, "post", url, {"password": PASSWORD})
        else:
            response = answer(client, "post", CONFIRM, {"password": PASSWORD, "next": next_url})
        assert_stays_on_site(response)

    each_case(OFF_SITE, check)


# --- profile, password change, deactivation ----------------------------------------------------------------------

PROFILE = reverse("accounts:profile")
PASSWORD_CHANGE = reverse("accounts:password_change")
DEACTIVATE = reverse("accounts:deactivate")
CONTACT_CHANGE = reverse("accounts:contact_email_change")
PROFILE_BASE = {"first_name": "Marie", "last_name": "Gestion", "phone": "06 12 34 56 78"}
PROFILE_FIELDS = {
    "first_name": "text_required",
    "last_name": "text_required",
    "phone": "format",
    "survey_consent": "bool",
}


@pytest.mark.parametrize("field", PROFILE_FIELDS)
def test_profile(portal, field):
    client = browser(portal.manager)

    def check(name, value):
        before = snapshot()
        response = answer(client, "post", PROFILE, {**PROFILE_BASE, field: value})
        if response.status_code == 200 or must_refuse(PROFILE_FIELDS[field], name) or name in BAD_EMAILS:
            assert_refused(response, before, field)
        else:
            assert response.status_code == 302
            answer(client, "get", PROFILE)
            user = User.objects.get(pk=portal.manager.pk)
            assert (user.email, user.is_active, user.is_staff) == ("marie@exemple.fr", True, False)

    each_case(attacks_for(PROFILE_FIELDS[field]), check)


def test_contact_address_change(portal):
    """« Changer l'e-mail du contact »: a refused address changes and mails nothing; an accepted one mails the
    login address (the manager has no contact address) and the new one, nothing else."""
    client = browser(portal.manager)

    def check(name, value):
        before = snapshot()
        response = answer(client, "post", CONTACT_CHANGE, {"contact_email": value})
        # Empty is refused too: the manager has no contact address to remove.
        if response.status_code == 200 or name not in ODD_EMAILS:
            assert_refused(response, before, "contact_email")
        else:
            assert response.status_code == 302
            assert User.objects.get(pk=portal.manager.pk).contact_email == ""  # until the new address confirms
            typed = AddressChange.objects.get(user=portal.manager).new_address
            assert assert_clean_mail({"marie@exemple.fr", typed}) == 2

    each_case({**attacks_for("format"), **BAD_EMAILS, **ODD_EMAILS}, check)


def test_profile_ignores_fields_it_does_not_declare(portal):
    extra = {
        "email": EVIL,
        "is_staff": "on",
        "is_superuser": "on",
        "is_active": "",
        "password": "x",
        "activated_at": "",
    }

    response = answer(browser(portal.manager), "post", PROFILE, {**PROFILE_BASE, **extra})

    assert response.status_code == 302
    user = User.objects.get(pk=portal.manager.pk)
    assert (user.email, user.is_staff, user.is_superuser, user.is_active) == ("marie@exemple.fr", False, False, True)
    assert user.check_password(PASSWORD) and user.activated_at is not None


@pytest.mark.parametrize("field", ["old_password", "new_password1", "new_password2"])
def test_password_change(portal, field):
    client = browser(portal.manager)

    def check(name, value):
        before = snapshot()
        data = {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG, field: value}
        assert_refused(answer(client, "post", PASSWORD_CHANGE, data), before)

    each_case(PASSWORD_ATTACKS, check)


def test_deactivation(portal):
    cases = {**{("password", name): value for name, value in NASTY.items()}, ("confirm", "empty"): ""}

    client = browser(portal.manager)

    def check(case, value):
        field = case[0]
        before = snapshot()
        response = answer(client, "post", DEACTIVATE, {"password": PASSWORD, "confirm": "on", field: value})
        assert_refused(response, before, field)

    each_case(cases, check)


# --- structures: « Gérer une structure », « Modifier une structure » ------------------------------------------------

STRUCTURE_FIELDS = {
    "name": "text_required",
    "rcs_number": "text",
    "vat_number": "format",
    "structure_type": "choice_required",
    "email": "format",
    "tax_regime": "choice",
    "address": "text_required",
    "address_complement_1": "text",
    "address_complement_2": "text",
    "postal_code": "format_required",
    "city": "text_required",
    "country": "choice_required",
    "phone": "format",
    "procedure_category": "choice",
    "beneficiary_category": "choice_required",
    "pacage": "format_required",
    "is_agricultural_centre": "bool",
}
assert set(STRUCTURE_FIELDS) == set(StructureForm.Meta.fields)


@pytest.mark.parametrize("field", STRUCTURE_FIELDS)
def test_structure_edit(portal, field):
    url = reverse("structures:structure_update", args=[portal.farm.pk])
    client = browser(portal.manager)

    def check(name, value):
        before = snapshot()
        response = answer(client, "post", url, {**STRUCTURE_FORM, field: value})
        if response.status_code == 200 or must_refuse(STRUCTURE_FIELDS[field], name):
            assert_refused(response, before, field)
        else:
            assert response.status_code == 302
            answer(client, "get", url)  # the form and its history show the new values, escaped
            farm = Structure.objects.get(pk=portal.farm.pk)
            assert (farm.siret, farm.status) == (portal.farm.siret, portal.farm.status)

    each_case(attacks_for(STRUCTURE_FIELDS[field]), check)


def test_structure_edit_ignores_read_only_fields(portal):
    extra = {"siret": portal.other_farm.siret, "status": "inactive", "siren": "123456789", "id": portal.other_farm.pk}

    response = answer(
        browser(portal.manager),
        "post",
        reverse("structures:structure_update", args=[portal.farm.pk]),
        {**STRUCTURE_FORM, **extra},
    )

    assert response.status_code == 302
    farm = Structure.objects.get(pk=portal.farm.pk)
    assert (farm.siret, farm.status) == (portal.farm.siret, "active")
    assert Structure.objects.get(pk=portal.other_farm.pk).name == "GAEC Voisin"


def test_a_structure_name_with_line_breaks_stays_on_the_subject_line(portal):
    """The structure-change and bank-detail mails put the structure's name in their subject."""
    client = browser(portal.manager)
    name = f"EARL\r\nBcc: {EVIL}\r\nX-Injected: 1\u2028\x85"
    url = reverse("structures:structure_update", args=[portal.farm.pk])
    assert answer(client, "post", url, {**STRUCTURE_FORM, "name": name}).status_code == 302
    assert assert_clean_mail(portal.farm_managers) == len(portal.farm_managers)
    structure_changed = list(mail.outbox)
    before = snapshot()

    response = answer(client, "post", CREATE, **multipart(bank_data(portal), [("rib_file", "rib.pdf", PDF)]))

    assert response.status_code == 302
    bank_account_created(client, before, portal)
    for message in [*structure_changed, *mail.outbox]:
        head = email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)
        assert head.get_all("X-Injected") is None and head.get_all("Bcc") is None
        # On one line; the address typed in it made inert, as every typed text in a mail.
        assert head["Subject"].endswith(f"EARL Bcc: {EVIL.replace('.', '[.]')} X-Injected: 1")


nasty_or_typed = st.one_of(typed, st.sampled_from(list(NASTY.values())))


@FUZZ
@given(values=st.fixed_dictionaries({}, optional=dict.fromkeys(STRUCTURE_FIELDS, nasty_or_typed)), base=st.booleans())
def test_structure_edit_fuzz(portal, values, base):
    with rolled_back():
        client, url = browser(portal.manager), reverse("structures:structure_update", args=[portal.farm.pk])
        before = snapshot()

        response = answer(client, "post", url, {**STRUCTURE_FORM, **values} if base else values)

        if response.status_code == 200:
            assert_refused(response, before)
        else:
            assert response.status_code == 302
            answer(client, "get", url)


ID_VALUES = {
    "negative": "-1",
    "huge": "9" * 40,
    "bigint overflow": str(2**63),
    "10^5 digits": "9" * 100_000,
    "decimal": "1.5",
    "sql": "1 OR 1=1",
}


@pytest.mark.parametrize("param", ["request_type", "structure"])
def test_manage_query_parameters(portal, param):
    cases = {**NASTY, **ID_VALUES, "other structure": "other"}

    client = browser(portal.manager)

    def check(name, value):
        value = str(portal.other_farm.pk) if value == "other" else value
        query = {"request_type": "modify", "structure": portal.farm.pk, param: value}
        before = snapshot()
        response = answer(client, "get", reverse("structures:structure_manage"), query)
        if response.status_code == 302:  # a spelling of our own id (" 5", "٥") opens our own structure
            assert response.url == reverse("structures:structure_update", args=[portal.farm.pk])
        else:
            assert_refused(response, before, param)

    each_case(cases, check)


# --- bank details ------------------------------------------------------------------------------------------------

CREATE = reverse("structures:bank_account_create")
BANK_FIELDS = {"label": "text_required", "iban": "format_required", "bic": "format", "structure": "choice_required"}


def bank_data(portal, **overrides) -> dict:
    return {
        "label": "Compte travaux",
        "iban": "FR76 3000 4000 0312 3456 7890 143",
        "bic": "",
        "structure": portal.farm.pk,
        **overrides,
    }


def update_url(portal) -> str:
    return reverse("structures:bank_account_update", args=[portal.account.pk])


def bank_account_created(client, before, portal) -> BankAccount:
    """Exactly one new account, on the farm, shown escaped, mailed to each of its managers."""
    account = BankAccount.objects.exclude(pk__in=[row[0] for row in before["structures.BankAccount"]]).get()
    assert account.structure_id == portal.farm.pk
    answer(client, "get", reverse("structures:bank_account_detail", args=[account.pk]))
    assert assert_clean_mail(portal.farm_managers) == len(portal.farm_managers)
    return account


@pytest.mark.parametrize("field", BANK_FIELDS)
def test_bank_account_create(portal, field):
    cases = {**attacks_for(BANK_FIELDS[field]), **(ID_VALUES if field == "structure" else {})}
    if field == "structure":
        cases["other structure's"] = str(portal.other_farm.pk)
        cases["other structure's, in Arabic-Indic digits"] = str(portal.other_farm.pk).translate(
            str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
        )
        cases["ours with nul"] = f"{portal.farm.pk}\x00"
        cases["ours and other's"] = f"{portal.farm.pk},{portal.other_farm.pk}"

    client = browser(portal.manager)

    def check(name, value):
        before = snapshot()
        body = multipart(bank_data(portal, **{field: value}), [("rib_file", "rib.pdf", PDF)])
        response = answer(client, "post", CREATE, **body)
        if response.status_code == 200 or name not in NASTY or must_refuse(BANK_FIELDS[field], name):
            assert_refused(response, before, field)
        else:
            bank_account_created(client, before, portal)

    each_case(cases, check)


def test_bank_account_create_with_two_structures_posted_keeps_the_last_one_managed(portal):
    client, before = browser(portal.manager), snapshot()
    data = {**bank_data(portal, structure=[portal.other_farm.pk, portal.farm.pk]), "rib_file": io.BytesIO(PDF)}
    data["rib_file"].name = "rib.pdf"

    response = answer(client, "post", CREATE, data)

    assert response.status_code == 302
    bank_account_created(client, before, portal)


def test_bank_account_create_initial_structure_parameter(portal):
    client = browser(portal.manager)

    def check(name, value):
        value = str(portal.other_farm.pk) if value == "other" else value
        response = answer(client, "get", CREATE, {"structure": value})
        assert response.status_code == 200
        assert portal.other_farm.siret not in response.content.decode()

    each_case({**NASTY, **ID_VALUES, "other structure": "other"}, check)


# Forged RIBs: (content, file name) → refused next to the field, nothing stored, no mail.
FORGED_RIBS = {
    "html renamed .pdf": lambda: (HTML_PAGE, "rib.pdf"),
    "pdf header, html body, no %%EOF": lambda: (b"%PDF-1.4\n" + HTML_PAGE, "rib.pdf"),
    "html first, pdf after (polyglot)": lambda: (HTML_PAGE + PDF, "rib.pdf"),
    "svg": lambda: (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(5)'/>", "rib.png"),
    "gif": lambda: (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "rib.png"),
    "windows executable": lambda: (b"MZ\x90\x00" + b"\x00" * 64, "rib.pdf"),
    "zip": lambda: (b"PK\x03\x04" + b"\x00" * 64, "rib.pdf"),
    "png decompression bomb (48 Mpx)": lambda: (png_claiming(8000, 6000), "rib.png"),
    "png decompression bomb (10^10 px)": lambda: (png_claiming(100_000, 100_000), "rib.png"),
    "jpeg decompression bomb (65000²)": lambda: (jpeg_claiming(65_000, 65_000), "rib.jpg"),
    "png text-chunk bomb (64 MiB)": lambda: (ztxt_bomb(), "rib.png"),
    "truncated png": lambda: (image_bytes("PNG")[:40], "rib.png"),
    "truncated jpeg": lambda: (image_bytes("JPEG")[:60], "rib.jpg"),
    "png signature only": lambda: (b"\x89PNG\r\n\x1a\n", "rib.png"),
    "empty file": lambda: (b"", "rib.pdf"),
    "html named ../../x.pdf": lambda: (HTML_PAGE, "../../x.pdf"),
    "html named with html": lambda: (HTML_PAGE, "<img src=x onerror=alert(5)>.pdf"),
    "name is ..": lambda: (PDF, ".."),
    "name is empty": lambda: (PDF, ""),
    "name of 300 characters": lambda: (PDF, "a" * 296 + ".pdf"),
    "over 5 MiB": lambda: (PDF + b" " * (5 * 1024 * 1024), "rib.pdf"),
    "png pixel flood, a real 40 Mpx image in 127 KB": lambda: (png_of(8000, 5000), "rib.png"),
    "pdf with javascript and no catalog (unreadable)": lambda: (
        b"%PDF-1.4\n1 0 obj<</S/JavaScript/JS(app.alert(5))>>endobj\n%%EOF\n",
        "rib.pdf",
    ),
    "pdf without a page": lambda: (pdf_bytes(pages=0), "rib.pdf"),
}
# Names Django's parser drops (basename "" or ".."): on the optional « Nouveau RIB » that is no file at all.
DROPPED_BY_DJANGO = {"name is ..", "name is empty"}
# Accepted, neutralised: images re-encoded, PDFs served as attachments; always a random name on disk.
NEUTRALISED_RIBS = {
    "png with html appended (polyglot)": lambda: (image_bytes("PNG") + PAYLOAD, "rib.png", "image/png"),
    "jpeg with a zip appended (polyglot)": lambda: (
        image_bytes("JPEG") + b"PK\x03\x04" + PAYLOAD,
        "rib.jpg",
        "image/jpeg",
    ),
    "png named .pdf": lambda: (image_bytes("PNG"), "rib.pdf", "image/png"),
    "pdf named ../../x.pdf": lambda: (PDF, "../../r5-traversal.pdf", "application/pdf"),
    "pdf named ..\\..\\x.pdf": lambda: (PDF, "..\\..\\r5-traversal.pdf", "application/pdf"),
    "pdf named with an rtl override": lambda: (PDF, "rib\u202efdp.exe", "application/pdf"),
    "pdf named with nul": lambda: (PDF, "rib\x00.pdf", "application/pdf"),
    "pdf named with html": lambda: (PDF, "<img src=x onerror=alert(5)>.pdf", "application/pdf"),
    "pdf with javascript, an embedded program and launch actions": lambda: (
        pdf_bytes(pages=2, arm=arm_pdf),
        "rib.pdf",
        "application/pdf",
    ),
    "pdf with html appended (polyglot)": lambda: (PDF + HTML_PAGE, "rib.pdf", "application/pdf"),
}


def rib_error_shown(response) -> None:
    """Each message about the file is written inside the field's own error block."""
    shown = response.content.decode().split('id="id_rib_file_error"', 1)[1].split("</ul>", 1)[0]
    for message in response.context["form"].errors["rib_file"]:
        assert escape(message) in shown, message


@pytest.mark.parametrize("step", ["create", "update"])
def test_forged_rib_files_are_refused(portal, step):
    url, fields = (CREATE, bank_data(portal)) if step == "create" else (update_url(portal), {"label": "Compte courant"})

    client = browser(portal.manager)

    def check(name, make):
        content, filename = make()
        before = snapshot()
        response = answer(client, "post", url, **multipart(fields, [("rib_file", filename, content)]))
        if step == "update" and name in DROPPED_BY_DJANGO:  # no file reached the form: the RIB is kept
            assert response.status_code == 302
            assert_unchanged(before)
            return
        assert_refused(response, before, "rib_file")
        rib_error_shown(response)
        assert not list(rib_root().parent.parent.glob("x.pdf")) and not list(rib_root().parent.glob("x.pdf"))

    each_case(FORGED_RIBS, check)


@pytest.mark.parametrize("step", ["create", "update"])
def test_a_file_name_over_the_header_limit_is_a_400(portal, step):
    """Django refuses a multipart part whose headers exceed its limit, before any form sees it."""
    url, fields = (CREATE, bank_data(portal)) if step == "create" else (update_url(portal), {"label": "Renommé"})
    before = snapshot()

    response = answer(browser(portal.manager), "post", url, **multipart(fields, [("rib_file", HUGE + ".pdf", PDF)]))

    assert response.status_code == 400
    assert_unchanged(before)


@pytest.mark.parametrize("step", ["create", "update"])
def test_odd_rib_files_are_stored_neutralised(portal, step):
    url, fields = (CREATE, bank_data(portal)) if step == "create" else (update_url(portal), {"label": "Compte courant"})

    client = browser(portal.manager)

    def check(name, make):
        content, filename, content_type = make()
        before = snapshot()
        response = answer(client, "post", url, **multipart(fields, [("rib_file", filename, content)]))
        assert response.status_code == 302, response.context and dict(response.context["form"].errors)
        if step == "create":
            account = bank_account_created(client, before, portal)
        else:
            account = BankAccount.objects.get(pk=portal.account.pk)
            assert assert_clean_mail(portal.farm_managers) == 2
            answer(client, "get", reverse("structures:bank_account_detail", args=[account.pk]))
        assert account.rib_content_type == content_type
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}\.(pdf|png|jpg)", account.rib.name), account.rib.name
        stored = Path(account.rib.path).resolve()
        assert stored.is_relative_to(rib_root().resolve())
        assert not list(rib_root().parent.rglob("r5-traversal*")) and not list(rib_root().parent.parent.glob("r5-*"))
        assert not re.search(r"[/\\\x00-\x1f]", account.rib_filename), account.rib_filename
        data = stored.read_bytes()
        if content_type != "application/pdf":
            assert PAYLOAD not in data and b"PK\x03\x04" not in data, "the polyglot's rider was kept"
        else:  # rewritten: what runs or rides along is gone, the pages stay
            for rider in [b"JavaScript", b"/Launch", b"/URI", b"MZ", b"<script>", b"/OpenAction", b"/AA"]:
                assert rider not in data, rider
            with pikepdf.open(stored) as pdf, pikepdf.open(io.BytesIO(content)) as original:
                assert len(pdf.pages) == len(original.pages)
        download = answer(client, "get", reverse("structures:rib_download", args=[account.pk]))
        assert download.status_code == 200
        assert (download["Content-Type"], download["X-Content-Type-Options"]) == (content_type, "nosniff")
        extension = BankAccount.EXTENSIONS[content_type]
        expected = f'attachment; filename="RIB-{portal.farm.siret}-{account.pk}{extension}"'
        assert download["Content-Disposition"] == expected

    each_case(NEUTRALISED_RIBS, check)


def test_two_files_in_the_rib_field_store_one(portal):
    client, before = browser(portal.manager), snapshot()
    files = [("rib_file", "a.pdf", PDF), ("rib_file", "b.html", HTML_PAGE)]

    response = answer(client, "post", CREATE, **multipart(bank_data(portal), files))

    if response.status_code == 200:
        assert_refused(response, before, "rib_file")
    else:
        account = bank_account_created(client, before, portal)  # then it kept the PDF, and only it
        assert len(snapshot()["RIB files"]) == len(before["RIB files"]) + 1
        with account.rib.open("rb") as stored:
            assert stored.read() == PDF


rib_names = typed.map(lambda name: re.sub(r'["\r\n]', "", name)[:150])
rib_contents = st.one_of(
    st.binary(max_size=2048),
    st.tuples(st.sampled_from([b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]), st.binary(max_size=2048)).map(
        b"".join
    ),
    st.binary(max_size=512).map(lambda body: b"%PDF-1.4\n" + body + b"\n%%EOF"),
)


@FUZZ
@given(
    values=st.fixed_dictionaries({}, optional=dict.fromkeys(["label", "iban", "bic", "structure"], nasty_or_typed)),
    content=rib_contents,
    filename=rib_names,
)
def test_bank_account_create_fuzz(portal, values, content, filename):
    with rolled_back():
        client, before = browser(portal.manager), snapshot()

        response = answer(client, "post", CREATE, **multipart(values, [("rib_file", filename, content)]))

        assert_refused(response, before)  # IBAN and structure drawn blind: never a valid pair


@FUZZ
@given(label=nasty_or_typed, content=rib_contents, filename=rib_names)
def test_bank_account_update_fuzz(portal, label, content, filename):
    with rolled_back():
        client, before = browser(portal.manager), snapshot()

        response = answer(
            client, "post", update_url(portal), **multipart({"label": label}, [("rib_file", filename, content)])
        )

        if response.status_code == 200:
            assert_refused(response, before)
        else:
            assert response.status_code == 302
            account = BankAccount.objects.get(pk=portal.account.pk)
            assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{32}\.(pdf|png|jpg)", account.rib.name)
            assert_clean_mail(portal.farm_managers)
            answer(client, "get", reverse("structures:bank_account_detail", args=[account.pk]))


def test_bank_account_rename(portal):
    client = browser(portal.manager)

    def check(name, value):
        before = snapshot()
        response = answer(client, "post", update_url(portal), {"label": value})
        if response.status_code == 200 or must_refuse("text_required", name):
            assert_refused(response, before, "label")
        else:
            assert response.status_code == 302
            answer(client, "get", reverse("structures:bank_account_detail", args=[portal.account.pk]))
            assert assert_clean_mail(portal.farm_managers) == 2

    each_case({**NASTY, "other account's name": "Compte épargne"}, check)


def test_bic_lookup(portal):
    client = browser(portal.manager)

    def check(name, value):
        response = answer(client, "post", reverse("structures:bic_lookup"), {"iban": value})
        assert response.status_code == 200 and response.json() == {"bic": ""}

    each_case({**NASTY, "huge iban": "FR76" * 25_000}, check)


# --- every id in a URL -------------------------------------------------------------------------------------------

# Forged path segments. Those the int converter refuses never reach a view; all must be a 404 changing nothing.
PATH_FORGERIES = {
    "other's": None,
    "nonexistent": "1000000000",
    "zero": "0",
    "bigint max": str(2**63 - 1),
    "bigint overflow": str(2**63),
    "huge": "9" * 40,
    "10^4 digits": "9" * 10_000,
    "negative": "-1",
    "non-numeric": "abc",
    "decimal": "1.0",
    "arabic digits": "١",
    "nul": "%00",
    "crlf": "1%0D%0ASet-Cookie:x",
    "lone surrogate": "%ED%A0%80",
    "html": quote(XSS, safe=""),
    "traversal": "..%2F..%2F",
}
# (persona, method, path with {} for the forged id, posted data, the other's object)
ID_ROUTES = {
    "structure detail": ("manager", "get", "/organisation/structures/{}/", None, "other_farm"),
    "structure update": ("manager", "post", "/organisation/structures/{}/modifier/", STRUCTURE_FORM, "other_farm"),
    "structure users": ("manager", "get", "/organisation/structures/{}/utilisateurs/", None, "other_farm"),
    "hand-over": (
        "manager",
        "post",
        "/organisation/structures/{}/gestionnaire-principal/",
        {"membership": 1},
        "other_farm",
    ),
    "detach, structure": ("manager", "post", "/organisation/structures/{}/utilisateurs/1/detacher/", {}, "other_farm"),
    "detach, membership": (
        "manager",
        "post",
        "/organisation/structures/{farm}/utilisateurs/{}/detacher/",
        {},
        "other_membership",
    ),
    "bank detail": ("manager", "get", "/organisation/structures/coordonnees-bancaires/{}/", None, "other_account"),
    "bank update": (
        "manager",
        "post",
        "/organisation/structures/coordonnees-bancaires/{}/modifier/",
        {"label": "x"},
        "other_account",
    ),
    "bank default": (
        "manager",
        "post",
        "/organisation/structures/coordonnees-bancaires/{}/par-defaut/",
        {},
        "other_account",
    ),
    "bank delete": (
        "manager",
        "post",
        "/organisation/structures/coordonnees-bancaires/{}/supprimer/",
        {},
        "other_account",
    ),
    "rib download": ("manager", "get", "/organisation/structures/coordonnees-bancaires/{}/rib/", None, "other_account"),
    "approval detail": ("manager", "get", "/approbations/{}/", None, "other_request"),
    "approve": ("manager", "post", "/approbations/{}/approuver/", {}, "other_request"),
    "refuse": ("manager", "post", "/approbations/{}/refuser/", {"reason": "Non"}, "other_request"),
    "withdraw": ("member", "post", "/organisation/rattachements/{}/retirer/", {}, "request"),
    "resend a member's link": (
        "manager",
        "post",
        "/compte/activer/nouveau-lien/rattachement/{}/",
        {},
        "other_membership",
    ),
}


@pytest.mark.parametrize("route", ID_ROUTES)
def test_forged_ids_in_urls(portal, route):
    persona, method, template, data, others = ID_ROUTES[route]

    client = browser(getattr(portal, persona))

    def check(name, segment):
        segment = segment or str(getattr(portal, others).pk)
        path = template.replace("{farm}", str(portal.farm.pk)).replace("{}", segment)
        before = snapshot()
        assert answer(client, method, path, data).status_code == 404
        assert_unchanged(before)

    each_case(PATH_FORGERIES, check)


def test_detach_refuses_memberships_it_may_not_detach(portal):
    cases = {
        "own membership": (portal.manager, portal.manager_membership),
        "the main manager's, by a manager": (portal.deputy, portal.manager_membership),
        "another manager's, by a manager": (portal.deputy, portal.deputy_membership),
    }

    def check(name, case):
        persona, membership = case
        client, before = browser(persona), snapshot()
        path = f"/organisation/structures/{portal.farm.pk}/utilisateurs/{membership.pk}/detacher/"
        assert answer(client, "post", path).status_code == 403
        assert_unchanged(before)

    each_case(cases, check)


@pytest.mark.parametrize("method", ["get", "post"])
def test_hand_over_choice(portal, method):
    cases = {
        **NASTY,
        **ID_VALUES,
        "own": portal.manager_membership.pk,
        "other structure's": portal.other_membership.pk,
        "never activated user's": portal.awaiting_membership.pk,
    }

    client = browser(portal.manager)

    def check(name, value):
        data = {"membership": value, **({"continuer": "1"} if method == "get" else {})}
        before = snapshot()
        response = answer(client, method, reverse("structures:main_manager_hand_over", args=[portal.farm.pk]), data)
        assert_refused(response, before, "membership")

    each_case(cases, check)


# --- approvals -------------------------------------------------------------------------------------------------

ATTACHMENT = reverse("approvals:request_attachment")


@pytest.mark.parametrize("param", ["etat", "page"])
def test_approval_list_query_parameters(portal, param):
    cases = {**NASTY, **ID_VALUES, "zero": "0", "exponent": "1e9", "nan": "nan", "inf": "inf", "all": "toutes"}

    client = browser(portal.manager)

    def check(name, value):
        response = answer(client, "get", reverse("approvals:approval_list"), {param: value})
        assert response.status_code == 200
        assert portal.other_farm.siret not in response.content.decode()

    each_case(cases, check)


SELECTIONS = {
    "non-numeric": ["abc"],
    "negative": ["-1"],
    "decimal": ["1.0"],
    "exponent": ["1e3"],
    "hex": ["0x1"],
    "space-padded own": [" {own}"],
    "arabic digit": ["١"],
    "superscript digit": ["²"],
    "fullwidth digit": ["１"],
    "18 digits": ["9" * 18],
    "19 digits": ["9" * 19],
    "10^5 digits": ["9" * 100_000],
    "own with nul": ["{own}\x00"],
    "empty string": [""],
    "sql": ["1 OR 1=1"],
    "other structure's": ["{other}"],
    "own and other's": ["{own}", "{other}"],
    "own and junk": ["{own}", "abc"],
    "own and a replaced surrogate": ["{own}", "\ufffd"],
}


@pytest.mark.parametrize("action", ["approve_selection", "refuse_selection"])
def test_bulk_selection_ids(portal, action):
    client = browser(portal.manager)

    def check(name, values):
        ids = [value.format(own=portal.request.pk, other=portal.other_request.pk) for value in values]
        before = snapshot()
        response = answer(client, "post", reverse(f"approvals:{action}"), {"requests": ids, "reason": "Inconnu"})
        assert response.status_code == 404
        assert_unchanged(before)

    each_case(SELECTIONS, check)


@pytest.mark.parametrize("action", ["approve_selection", "refuse_selection"])
def test_bulk_selection_with_one_id_three_times_decides_once(portal, action):
    data = {"requests": [portal.request.pk] * 3, "reason": "Inconnu"}

    response = answer(browser(portal.manager), "post", reverse(f"approvals:{action}"), data)

    assert response.status_code == 302
    assert ApprovalRequest.objects.get(pk=portal.request.pk).state != ApprovalRequest.State.REQUESTED
    assert assert_clean_mail({"romane@exemple.fr"}) == 1


OWN, OTHER = "<own request>", "<other structure's request>"


@FUZZ
@given(
    values=st.lists(
        st.one_of(
            typed.map(lambda text: text[:30]),
            st.sampled_from([OWN, OTHER]),
            st.integers(min_value=-(2**70), max_value=2**70).map(str),
        ),
        max_size=5,
    ),
    approve=st.booleans(),
)
def test_bulk_selection_fuzz(portal, values, approve):
    with rolled_back():
        real = {OWN: str(portal.request.pk), OTHER: str(portal.other_request.pk)}
        ids = [real.get(value, value) for value in values]
        decidable = all(value.isascii() and value.isdigit() and int(value) == portal.request.pk for value in ids)
        client, before = browser(portal.manager), snapshot()
        url = reverse("approvals:approve_selection" if approve else "approvals:refuse_selection")

        response = answer(client, "post", url, {"requests": ids, "reason": "Non"})

        if decidable:
            assert response.status_code == 302
            assert assert_clean_mail({"romane@exemple.fr"}) == (1 if ids else 0)
        else:
            assert response.status_code == 404
            assert_unchanged(before)


@pytest.mark.parametrize("bulk", [False, True], ids=["one request", "selection"])
def test_refusal_reason(portal, bulk):
    client = browser(portal.manager)

    def check(name, value):
        if bulk:
            url, data = reverse("approvals:refuse_selection"), {"requests": [portal.request.pk], "reason": value}
        else:
            url, data = reverse("approvals:refuse", args=[portal.request.pk]), {"reason": value}
        before = snapshot()
        response = answer(client, "post", url, data)
        if response.status_code == 200 or name in {"empty", "blank", "huge", "nul", "2001 characters"}:
            assert_refused(response, before, "reason")
        else:
            assert response.status_code == 302
            refused = ApprovalRequest.objects.get(pk=portal.request.pk)
            assert refused.state == ApprovalRequest.State.REFUSED and refused.reason == value.strip()
            answer(client, "get", reverse("approvals:approval_detail", args=[refused.pk]))
            answer(browser(portal.requester), "get", reverse("approvals:my_memberships"))
            assert assert_clean_mail({"romane@exemple.fr"}) == 1

    each_case({**NASTY, "2001 characters": "a" * 2001}, check)


@pytest.mark.parametrize("field", ["siret", "comment"])
def test_attachment_request(portal, field):
    kind = {"siret": "format_required", "comment": "text"}[field]
    extra = {
        "siret": {"valid key, unknown": "73282932000074", "fullwidth digits": "７３２８２９３２０００００７４"},
        "comment": {"2001 characters": "a" * 2001},
    }[field]

    client = browser(portal.member)

    def check(name, value):
        data = {"siret": portal.other_farm.siret, "comment": "Je travaille pour le GAEC.", field: value}
        before = snapshot()
        response = answer(client, "post", ATTACHMENT, data)
        if response.status_code == 200 or name in extra or must_refuse(kind, name):
            assert_refused(response, before, field)
        else:
            assert response.status_code == 302
            created = ApprovalRequest.objects.get(requester=portal.member)
            assert created.structure == portal.other_farm and created.comment == value.strip()
            answer(client, "get", reverse("approvals:my_memberships"))
            answer(browser(portal.other_manager), "get", reverse("approvals:approval_detail", args=[created.pk]))
            assert assert_clean_mail({"bertrand@exemple.fr"}) == 1

    each_case({**NASTY, **extra}, check)


@FUZZ
@given(siret=nasty_or_typed, comment=nasty_or_typed)
def test_attachment_request_fuzz(portal, siret, comment):
    with rolled_back():
        client, before = browser(portal.member), snapshot()

        response = answer(client, "post", ATTACHMENT, {"siret": siret, "comment": comment})

        assert_refused(response, before)  # no SIRET drawn is registered


# --- whole requests: too many fields or files, too big, malformed ---------------------------------------------------

# (persona, path) of every form the portal posts.
FORM_ROUTES = {
    "sign-up": (None, SIGNUP),
    "sign-in": (None, LOGIN),
    "password reset": (None, reverse("accounts:password_reset")),
    "new activation link": (None, reverse("accounts:resend_activation")),
    "set password (activation)": ("activation link", "/compte/activer/{awaiting_uid}/mot-de-passe/"),
    "set password (reset)": ("reset link", "/compte/mot-de-passe-oublie/{member_uid}/nouveau-mot-de-passe/"),
    "profile": ("manager", PROFILE),
    "contact address": ("manager", CONTACT_CHANGE),
    "password change": ("manager", PASSWORD_CHANGE),
    "deactivation": ("manager", DEACTIVATE),
    "confirm password": ("manager", CONFIRM),
    "structure update": ("manager", "/organisation/structures/{farm}/modifier/"),
    "bank account create": ("manager", CREATE),
    "bank account update": ("manager", "/organisation/structures/coordonnees-bancaires/{account}/modifier/"),
    "bic lookup": ("manager", reverse("structures:bic_lookup")),
    "hand-over": ("manager", "/organisation/structures/{farm}/gestionnaire-principal/"),
    "refuse": ("manager", "/approbations/{request}/refuser/"),
    "approve selection": ("manager", reverse("approvals:approve_selection")),
    "refuse selection": ("manager", reverse("approvals:refuse_selection")),
    "attachment request": ("member", ATTACHMENT),
}
MAX_FIELDS = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
MAX_FILES = settings.DATA_UPLOAD_MAX_NUMBER_FILES
MAX_BODY = settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def client_for(portal, persona: str | None) -> Client:
    """A signed-in persona, an anonymous visitor, or one who opened an activation or reset link."""
    if persona not in ("activation link", "reset link"):
        return browser(getattr(portal, persona) if persona else None)
    user, prefix, generator = {
        "activation link": (portal.awaiting, "/compte/activer/", activation_token),
        "reset link": (portal.member, "/compte/mot-de-passe-oublie/", default_token_generator),
    }[persona]
    client = browser()
    assert answer(client, "get", f"{prefix}{uid(user.pk)}/{generator.make_token(user)}/").status_code == 302
    return client


def post_to_every_form(portal, body: Callable[[], dict], expected: tuple[int, ...], routes=FORM_ROUTES) -> None:
    """Posts the body to every form (of `routes`); each answers one of `expected` and changes nothing."""
    ids = {
        "farm": portal.farm.pk,
        "account": portal.account.pk,
        "spare": portal.spare.pk,
        "request": portal.request.pk,
        "member_membership": portal.member_membership.pk,
        "awaiting_uid": uid(portal.awaiting.pk),
        "member_uid": uid(portal.member.pk),
    }

    clients = {persona: client_for(portal, persona) for persona, _ in routes.values()}

    def check(name, route):
        persona, path = route
        client, before = clients[persona], snapshot()
        response = answer(client, "raw", path.format(**ids), **body())
        assert response.status_code in expected, response.status_code
        assert_unchanged(before)

    each_case(routes, check)


def urlencoded(pairs: list[tuple[str, str]]) -> dict:
    return {"data": urlencode(pairs), "content_type": "application/x-www-form-urlencoded"}


def test_more_fields_than_allowed_urlencoded_is_a_400(portal):
    post_to_every_form(portal, lambda: urlencoded([("requests", str(n)) for n in range(MAX_FIELDS + 1)]), (400,))


def test_more_fields_than_allowed_multipart_is_a_400(portal):
    # Django's multipart parser allows two empty parts around the last boundary on top of the limit.
    post_to_every_form(portal, lambda: multipart({f"field{n}": "x" for n in range(MAX_FIELDS + 3)}, []), (400,))


def test_more_files_than_allowed_is_a_400(portal):
    files = [("rib_file", f"rib{n}.pdf", PDF) for n in range(MAX_FILES + 1)]
    post_to_every_form(portal, lambda: multipart({}, files), (400,))


def test_a_body_over_the_memory_limit_urlencoded_is_a_400(portal):
    post_to_every_form(portal, lambda: urlencoded([("label", "a" * (MAX_BODY + 1))]), (400,))


def test_a_field_over_the_memory_limit_multipart_is_a_400(portal):
    post_to_every_form(portal, lambda: multipart({"label": "a" * (MAX_BODY + 1)}, []), (400,))


def test_too_many_fields_is_a_400_with_csrf_checks_on(portal):
    """A browser's POST meets the CSRF check first, which reads the body too."""
    client, before = browser(enforce_csrf_checks=True), snapshot()

    response = answer(client, "post", SIGNUP, {f"field{n}": "x" for n in range(MAX_FIELDS + 1)})

    assert response.status_code in (400, 403)
    assert_unchanged(before)


# Body parsing is Django's, the same for every view: a form of each kind (anonymous, profile, model form,
# files, lists of ids, approvals) is enough for the malformed bodies.
MALFORMED_ROUTES = {
    name: FORM_ROUTES[name]
    for name in [
        "sign-up",
        "profile",
        "structure update",
        "bank account create",
        "refuse selection",
        "attachment request",
    ]
}
MALFORMED_BODIES = {
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\n"),
    "multipart with empty boundary": ("multipart/form-data; boundary=", b"----\r\n"),
    "multipart with huge boundary": ("multipart/form-data; boundary=" + "b" * 1000, b"--b\r\n"),
    "multipart truncated": (
        "multipart/form-data; boundary=zz",
        b'--zz\r\nContent-Disposition: form-data; name="email"\r\n\r\nabc',
    ),
    "multipart without headers": ("multipart/form-data; boundary=zz", b"--zz\r\n\r\n\r\n--zz--"),
    "multipart header too long": (
        "multipart/form-data; boundary=zz",
        b"--zz\r\nX: " + b"a" * 10_000 + b"\r\n\r\nv\r\n--zz--",
    ),
    "multipart base64 garbage": (
        "multipart/form-data; boundary=zz",
        b'--zz\r\nContent-Disposition: form-data; name="email"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n@@@\r\n--zz--",
    ),
    "multipart unknown charset": (
        "multipart/form-data; boundary=zz; charset=nope",
        b'--zz\r\nContent-Disposition: form-data; name="email"\r\n\r\n\xff\xfe\r\n--zz--',
    ),
    "multipart part with unknown charset": (
        "multipart/form-data; boundary=zz",
        b'--zz\r\nContent-Disposition: form-data; name="email"\r\nContent-Type: text/plain; charset=nope\r\n\r\n'
        b"\xff\xfe\r\n--zz--",
    ),
    "urlencoded unknown charset": ("application/x-www-form-urlencoded; charset=nope", b"email=%FF"),
    "urlencoded utf-16": ("application/x-www-form-urlencoded; charset=utf-16", b"email=a@b.fr"),
    "urlencoded random bytes": ("application/x-www-form-urlencoded", bytes(range(256))),
    "json": ("application/json", b'{"email": "a@b.fr"}'),
    "text": ("text/plain", b"email=a@b.fr"),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES)
def test_malformed_bodies(portal, body):
    content_type, data = MALFORMED_BODIES[body]
    # 302: an empty bulk selection goes back to the list; a delete with no body; the BIC lookup answers JSON.
    post_to_every_form(portal, lambda: {"data": data, "content_type": content_type}, (200, 302, 400), MALFORMED_ROUTES)


@FUZZ
@given(
    body=st.binary(max_size=1024),
    route=st.sampled_from(["sign-up", "sign-in", "password reset", "new activation link"]),
)
def test_raw_body_fuzz(portal, body, route):
    with rolled_back():
        before = snapshot()

        response = answer(
            browser(), "raw", FORM_ROUTES[route][1], body, content_type="application/x-www-form-urlencoded"
        )

        assert response.status_code in (200, 302)
        assert_unchanged(before)  # random bytes never make a valid sign-up, nor an awaited address


# --- the captcha's own URLs ----------------------------------------------------------------------------------------


def test_captcha_urls_with_unknown_keys(portal):
    cases = {
        "image": "/captcha/image/unknownkey/",
        "image 2x": "/captcha/image/unknownkey@2/",
        "audio": "/captcha/audio/unknownkey.wav",
        "huge key": "/captcha/image/" + "a" * 10_000 + "/",
        "unicode key": "/captcha/image/éàü/",
        "lone surrogate": "/captcha/image/%ED%A0%80/",
        "nul": "/captcha/image/%00/",
        "refresh": "/captcha/refresh/",
    }

    client = browser()

    def check(name, path):
        assert answer(client, "get", path, HTTP_X_REQUESTED_WITH="XMLHttpRequest").status_code in (200, 404, 410)

    each_case(cases, check)
