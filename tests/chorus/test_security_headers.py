"""Headers that browsers enforce: CSP with nonces (the admin included), framing, sniffing, caching of private pages."""

import re

import pytest
from django.urls import reverse

from structures.models import BankAccount
from tests.chorus.test_settings import PRODUCTION, manage
from tests.factories import PASSWORD


def scripts_run_only_with_the_nonce(response) -> bool:
    """Every inline script carries the nonce the CSP header announces; external ones come from the portal.

    Django puts the nonce in the header only when a page uses it: the portal's
    own pages have no inline script at all, so their policy is `'self'` alone.
    """
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"])
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S):
        if "src=" in attributes:
            if not re.search(r'src="/', attributes):
                return False
        elif body.strip() and (nonce is None or f'nonce="{nonce.group(1)}"' not in attributes):
            return False
    return True


@pytest.mark.parametrize("url", ["home", "accounts:signup", "accounts:login", "admin:login"])
def test_pages_and_the_admin_allow_only_their_own_scripts(client, db, url):
    response = client.get(reverse(url))

    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert re.fullmatch(r"'self'( 'nonce-[^']+')?", script_src.strip())
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert scripts_run_only_with_the_nonce(response)
    assert (response["X-Frame-Options"], response["X-Content-Type-Options"]) == ("DENY", "nosniff")
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_admin_pages_of_staff_carry_the_nonce_too(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S"))
    for url in [reverse("admin:index"), reverse("admin:structures_structure_add")]:
        response = client.get(url)
        assert response.status_code == 200
        assert scripts_run_only_with_the_nonce(response), url


def test_an_inline_script_without_the_nonce_would_be_caught(rf):
    """The check above is not vacuous."""
    from django.http import HttpResponse

    response = HttpResponse("<p>x</p><script>alert(1)</script>")
    response["Content-Security-Policy"] = "script-src 'self' 'nonce-abc'"
    assert not scripts_run_only_with_the_nonce(response)
    response = HttpResponse('<script nonce="abc">go()</script><script src="https://cdn.example/x.js"></script>')
    response["Content-Security-Policy"] = "script-src 'self' 'nonce-abc'"
    assert not scripts_run_only_with_the_nonce(response)


def test_pages_showing_bank_details_are_never_stored(sign_in, manager, farm, private_media):
    bank_account = BankAccount.objects.create(
        structure=farm, label="Compte courant", iban="FR7630006000011234567890189", bic="AGRIFRPPXXX"
    )
    client = sign_in(manager)
    for url in [
        reverse("structures:structure_detail", args=[farm.pk]),
        reverse("structures:bank_account_create"),
        bank_account.get_absolute_url(),
        reverse("structures:bank_account_update", args=[bank_account.pk]),
        reverse("accounts:profile"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"], url


def test_public_pages_may_be_cached_by_the_browser(client, db):
    assert "no-store" not in client.get(reverse("home")).get("Cache-Control", "")


def test_production_sends_hsts_and_secure_http_only_cookies(tmp_path):
    script = (
        "from django.test import Client;"
        "from django.conf import settings as s;"
        "c = Client(HTTP_HOST='tic.example.fr');"
        "r = c.get('/organisation/');"
        "print(r.status_code, r['Location']);"
        "r = c.get('/organisation/', secure=True);"
        "print(r.status_code, r['Strict-Transport-Security']);"
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE);"
        "print(s.CSRF_COOKIE_SECURE, s.CSRF_COOKIE_HTTPONLY, s.CSRF_COOKIE_SAMESITE)"
    )
    result = manage("shell", "-c", script, **PRODUCTION, DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")

    assert result.returncode == 0, result.stderr
    plain, secure, session_cookie, csrf_cookie = result.stdout.strip().split("\n")[-4:]
    assert plain == "301 https://tic.example.fr/organisation/"
    assert secure.startswith("302 max-age=31536000; includeSubDomains; preload")
    assert session_cookie == csrf_cookie == "True True Lax"


def test_the_sign_up_recap_is_never_stored(client, signup_data):
    client.post(reverse("accounts:signup"), signup_data())

    recap = client.get(reverse("accounts:signup_done"))

    assert recap.status_code == 200 and "no-store" in recap["Cache-Control"]
