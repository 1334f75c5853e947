"""A French support agent reads the mail admin in French: django-post-office ships no French catalogue."""

import ast
import gettext
import html
import re
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from post_office.models import STATUS, Email, EmailTemplate, Log

from tests.factories import PASSWORD

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES"

# What the admin showed before: django-post-office's own labels, columns, choices and filters.
ENGLISH = [
    "Post Office",
    "Attachments?",
    "Email Templates?",
    "Emails?",
    "Logs?",
    "Email From",
    "Email To",
    "To",
    "Subject",
    "Status",
    "Priority",
    "Scheduled Time",
    "The scheduled sending time",
    "Last updated",
    "Created",
    "Message-ID",
    "Use Template",
    "Name",
    "Languages",
    "Exception type",
    "Mimetype",
    "Bcc",
    "Default Content",
    "Relations? attachment-email",
    "sent",
    "failed",
    "queued",
    "requeued",
    "medium",
    "Delivered",
    "Hard Bounced",
    "Afrikaans",
]


def visible_text(response) -> str:
    page = re.sub(r"(?s)<(script|style)\b.*?</\1>", " ", response.content.decode())
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def english_in(text: str) -> list[str]:
    return [word for word in ENGLISH if re.search(rf"(?<![\w-]){word}(?![\w-])", text)]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("support@exemple.fr", PASSWORD, first_name="S")


@pytest.fixture
def admin_client(superuser):
    client = Client()
    client.force_login(superuser)
    return client


@pytest.fixture
def sent_mail(member):
    """A password-reset mail of the portal, sent once."""
    Client().post(reverse("accounts:password_reset"), {"email": member.email})
    mail = Email.objects.get()
    Log.objects.create(email=mail, status=STATUS.sent, message="")
    return mail


def test_the_admin_index_names_the_mail_sections_in_french(admin_client):
    page = visible_text(admin_client.get(reverse("admin:index")))

    for label in ["Courriels", "Gabarits de courriel", "Journaux d'envoi", "Pièces jointes"]:
        assert label in page
    assert english_in(page) == []


@pytest.mark.parametrize("model", ["email", "log", "emailtemplate", "attachment"])
def test_each_mail_list_and_its_add_page_read_in_french(admin_client, sent_mail, model):
    EmailTemplate.objects.create(name="bienvenue", subject="Bienvenue")
    for name in [f"admin:post_office_{model}_changelist", f"admin:post_office_{model}_add"]:
        response = admin_client.get(reverse(name))
        if response.status_code == 403:  # a mail is never written by hand
            continue
        assert response.status_code == 200
        assert english_in(visible_text(response)) == [], name


def test_a_mail_reads_in_french_with_its_sending_log(admin_client, sent_mail):
    response = admin_client.get(reverse("admin:post_office_email_change", args=[sent_mail.pk]))
    page = visible_text(response)

    for label in ["Expéditeur", "Destinataires", "Objet", "Priorité", "État", "Envoi prévu le", "Créé le"]:
        assert f"{label} :" in page
    assert "en file d'envoi" in page and "Journaux d'envoi" in page and "envoyé" in page
    assert english_in(page) == []


def test_the_mail_list_shows_what_the_portal_uses(admin_client, sent_mail):
    """No template column nor filter: the portal's mails use none (chorus.mail)."""
    response = admin_client.get(reverse("admin:post_office_email_changelist"))
    page = visible_text(response)

    assert "Par état" in page and "Identifiant du message" in page and sent_mail.subject in page
    assert "Par langue" not in page and "Par nom" not in page
    assert "column-use_template" not in response.text


def test_a_template_offers_no_language_variants(admin_client):
    template = EmailTemplate.objects.create(name="bienvenue", subject="Bienvenue")

    page = visible_text(admin_client.get(reverse("admin:post_office_emailtemplate_change", args=[template.pk])))

    assert "Nom :" in page and "Par exemple : « bienvenue »." in page
    assert "Langue" not in page and english_in(page) == []


@pytest.fixture
def failed_sign_in(db):
    """One wrong password typed at the admin's sign-in: what django-axes keeps of it."""
    attempt = {"username": "x@exemple.fr", "ip_address": "192.0.2.1", "user_agent": "Firefox", "path_info": "/"}
    AccessFailureLog.objects.create(**attempt, http_accept="*/*")
    return AccessAttempt.objects.create(**attempt, http_accept="*/*", get_data="", post_data="", failures_since_start=1)


def test_support_reads_the_lockouts_in_french(agent, failed_sign_in):
    """django-axes' own French catalogue leaves the browser, the lockout and the tries left in English."""
    attempts = visible_text(agent.get(reverse("admin:axes_accessattempt_changelist")))
    failures = visible_text(agent.get(reverse("admin:axes_accessfailurelog_changelist")))
    attempt = visible_text(agent.get(reverse("admin:axes_accessattempt_change", args=[failed_sign_in.pk])))

    assert "Navigateur" in attempts and "Par accès bloqué" in attempts and "4 essai(s) restant(s)" in attempts
    assert "Navigateur" in failures
    assert "Fin du blocage :" in attempt and "En-tête HTTP Accept :" in attempt
    for page in [attempts, failures, attempt]:
        for english in ["User Agent", "Locked Out", "Attempt Remaining", "Status", "Not set", "expiration"]:
            assert english not in page


def test_a_structure_history_names_its_columns_in_french(agent, farm):
    page = visible_text(agent.get(reverse("admin:structures_structure_history", args=[farm.pk])))

    assert "Modifications" in page and "Changes" not in page


def test_the_compiled_catalogue_is_the_one_written():
    """CI compiles nothing: the .mo is committed; after editing the .po, run msgfmt again."""
    written = {}
    for entry in (CATALOGUE / "django.po").read_text().split("\n\n"):
        fields = dict(re.findall(r'^(msgctxt|msgid|msgstr) (".*")$', entry, re.M))
        if fields.get("msgid", '""') != '""':
            key = ast.literal_eval(fields["msgid"])
            if "msgctxt" in fields:
                key = f"{ast.literal_eval(fields['msgctxt'])}\x04{key}"
            written[key] = ast.literal_eval(fields["msgstr"])
    with open(CATALOGUE / "django.mo", "rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)._catalog

    assert {key: value for key, value in catalogue.items() if key} == written


def test_the_french_labels_need_no_migration(db):
    """The labels set in chorus.admin are display only: post_office's migrations stay as shipped."""
    call_command("makemigrations", "post_office", check=True, dry_run=True, verbosity=0)
