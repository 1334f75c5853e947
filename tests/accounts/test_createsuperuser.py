"""`make superuser` asks and answers in French, from the login address to the password."""

import getpass
import io

import pytest
from django.core.management import CommandError, call_command, get_commands

from accounts.models import User
from tests.factories import PASSWORD, UserFactory


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def operator(monkeypatch):
    """Types the given answers, in order, and notes each question it was asked."""
    asked, answers = [], []

    def answer(prompt=""):
        asked.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr("builtins.input", answer)
    monkeypatch.setattr(getpass, "getpass", answer)

    def run(*typed, **options):
        answers[:] = typed
        out, err = io.StringIO(), io.StringIO()
        call_command("createsuperuser", stdin=Terminal(), stdout=out, stderr=err, **options)
        assert answers == [], "questions left unasked"
        return asked, out.getvalue(), err.getvalue()

    return run


def test_manage_py_runs_the_french_command():
    assert get_commands()["createsuperuser"] == "accounts"


def test_every_question_is_in_french(db, operator):
    asked, out, err = operator("Support@Exemple.fr", "Sam", "Support", PASSWORD, PASSWORD)

    assert asked == [
        "Adresse électronique de connexion : ",
        "Prénom : ",
        "Nom : ",
        "Mot de passe : ",
        "Mot de passe (à nouveau) : ",
    ]
    assert "Superutilisateur support@exemple.fr créé." in out and err == ""
    user = User.objects.get(email="support@exemple.fr")
    assert user.is_superuser and user.is_staff and user.check_password(PASSWORD)


def test_password_mistakes_are_told_in_french(db, operator):
    asked, _, err = operator(
        "support@exemple.fr",
        "Sam",
        "Support",
        PASSWORD,
        "autre",
        " ",
        " ",
        "motdepasse",
        "motdepasse",
        "n",
        PASSWORD,
        PASSWORD,
    )

    assert "Erreur : les deux mots de passe ne sont pas identiques." in err
    assert "Erreur : le mot de passe ne peut pas être vide." in err
    assert "Ce mot de passe est trop court." in err
    bypass = "Ignorer la validation du mot de passe et créer l'utilisateur quand même ? [o/N] "
    assert asked.count(bypass) == 1
    assert not any(word in err for word in ["Error", "Password", "match", "Bypass"])
    assert User.objects.get(email="support@exemple.fr").check_password(PASSWORD)


def test_answering_oui_keeps_a_password_the_validators_refuse(db, operator):
    operator("support@exemple.fr", "Sam", "Support", "motdepasse", "motdepasse", "oui")

    assert User.objects.get(email="support@exemple.fr").check_password("motdepasse")


def test_a_taken_or_malformed_address_is_asked_again(db, operator):
    UserFactory(email="pris@exemple.fr")

    asked, _, err = operator(
        "pas-une-adresse", "PRIS@exemple.fr", "", "neuf@exemple.fr", "Sam", "Support", PASSWORD, PASSWORD
    )

    assert "Erreur : Saisissez une adresse de courriel valide." in err
    assert "Erreur : un compte utilise déjà cette adresse." in err
    assert "Erreur : Ce champ ne peut pas être vide." in err
    assert asked.count("Adresse électronique de connexion : ") == 4
    assert User.objects.filter(email="neuf@exemple.fr", is_superuser=True).exists()


def test_without_a_terminal_nothing_is_asked(db):
    out = io.StringIO()

    call_command("createsuperuser", stdin=io.StringIO(), stdout=out)

    assert "Superutilisateur non créé : la commande ne tourne pas dans un terminal." in out.getvalue()
    assert not User.objects.exists()


def test_without_input_the_options_and_environment_are_read_in_french(db, monkeypatch):
    with pytest.raises(CommandError, match=r"^Indiquez --email avec --noinput\.$"):
        call_command("createsuperuser", interactive=False, stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"^Indiquez --first_name avec --noinput\.$"):
        call_command("createsuperuser", interactive=False, email="ci@exemple.fr", stdout=io.StringIO())

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    monkeypatch.setenv("DJANGO_SUPERUSER_LAST_NAME", "Intégration")
    call_command("createsuperuser", interactive=False, email="ci@exemple.fr", first_name="Ci", stdout=io.StringIO())

    user = User.objects.get(email="ci@exemple.fr")
    assert user.is_superuser and user.last_name == "Intégration" and user.check_password(PASSWORD)
