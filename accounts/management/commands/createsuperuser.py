"""`createsuperuser` in French (`make superuser`).

Django's own command prompts and answers in English whatever LANGUAGE_CODE says:
its strings are not marked for translation, so no catalogue can help. This one
asks the same questions in French, for the portal's user model (a login address,
first and last names, no relation to fill in). The password validators already
answer in French. It takes precedence over Django's because INSTALLED_APPS lists
accounts before django.contrib.auth.
"""

import getpass
import os
import sys

from django.contrib.auth.management.commands import createsuperuser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.text import capfirst

PASSWORD_PROMPT = "Mot de passe : "
PASSWORD_AGAIN_PROMPT = "Mot de passe (à nouveau) : "
BYPASS_PROMPT = "Ignorer la validation du mot de passe et créer l'utilisateur quand même ? [o/N] "
YES = {"o", "oui"}


class Command(createsuperuser.Command):
    help = "Crée un superutilisateur : un compte de l'équipe qui a tous les droits dans l'administration."

    def add_arguments(self, parser):
        parser.add_argument(f"--{self.UserModel.USERNAME_FIELD}", help="l'adresse électronique de connexion")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help=(
                "ne rien demander : les champs viennent des options ou des variables DJANGO_SUPERUSER_* ; "
                "sans DJANGO_SUPERUSER_PASSWORD, le compte n'a pas de mot de passe utilisable"
            ),
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, choices=tuple(connections), help="la base (« default »)"
        )
        for name in self.UserModel.REQUIRED_FIELDS:
            parser.add_argument(f"--{name}", help=str(self.UserModel._meta.get_field(name).verbose_name))

    def handle(self, *args, **options):
        database = options["database"]
        try:
            if not options["interactive"]:
                user_data = self.read_options(options, database)
            elif hasattr(self.stdin, "isatty") and not self.stdin.isatty():
                self.stdout.write(
                    "Superutilisateur non créé : la commande ne tourne pas dans un terminal. "
                    "Lancez `make superuser` dans un terminal pour en créer un."
                )
                return
            else:
                user_data = self.ask(options, database)
            user = self.UserModel._default_manager.db_manager(database).create_superuser(**user_data)
        except KeyboardInterrupt:
            self.stderr.write("\nCréation annulée.")
            sys.exit(1)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from error
        if options["verbosity"] >= 1:
            self.stdout.write(f"Superutilisateur {user.get_username()} créé.")

    def ask(self, options: dict, database: str) -> dict:
        """The login address, then each required field not given as an option, then the password."""
        username_field = self.UserModel.USERNAME_FIELD
        username = options[username_field]
        if username is not None and (error := self.username_error(username, database)):
            self.stderr.write(f"Erreur : {error}")
            username = None
        while username is None:
            username = self.get_input_data(self.username_field, self._get_input_message(self.username_field))
            if username is not None and (error := self.username_error(username, database)):
                self.stderr.write(f"Erreur : {error}")
                username = None
        user_data = {username_field: username}
        for name in self.UserModel.REQUIRED_FIELDS:
            field = self.UserModel._meta.get_field(name)
            value = None if options[name] is None else field.clean(options[name], None)
            while value is None:
                value = self.get_input_data(field, self._get_input_message(field))
            user_data[name] = value
        user_data["password"] = self.ask_password(user_data)
        return user_data

    def ask_password(self, user_data: dict) -> str:
        """Typed twice; a password the validators refuse is kept only if the operator says so."""
        while True:
            password = getpass.getpass(PASSWORD_PROMPT)
            if getpass.getpass(PASSWORD_AGAIN_PROMPT) != password:
                self.stderr.write("Erreur : les deux mots de passe ne sont pas identiques.")
                continue
            if not password.strip():
                self.stderr.write("Erreur : le mot de passe ne peut pas être vide.")
                continue
            try:
                validate_password(password, self.UserModel(**user_data))
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                if input(BYPASS_PROMPT).strip().lower() not in YES:
                    continue
            return password

    def read_options(self, options: dict, database: str) -> dict:
        """--noinput: each field from its option, else from DJANGO_SUPERUSER_<FIELD> (as Django's command)."""

        def given(name):
            value = options.get(name)
            return value if value is not None else os.environ.get(f"DJANGO_SUPERUSER_{name.upper()}")

        username_field = self.UserModel.USERNAME_FIELD
        username = given(username_field)
        if not username:
            raise CommandError(f"Indiquez --{username_field} avec --noinput.")
        if error := self.username_error(username, database):
            raise CommandError(error)
        user_data = {username_field: username, "password": os.environ.get("DJANGO_SUPERUSER_PASSWORD")}
        for name in self.UserModel.REQUIRED_FIELDS:
            if not (value := given(name)):
                raise CommandError(f"Indiquez --{name} avec --noinput.")
            user_data[name] = self.UserModel._meta.get_field(name).clean(value, None)
        return user_data

    def username_error(self, username: str, database: str) -> str:
        """Why this login address cannot be the new account's, or an empty string."""
        try:
            self.username_field.clean(username, None)
        except ValidationError as error:
            return "; ".join(error.messages)
        manager = self.UserModel._default_manager.db_manager(database)
        try:
            manager.get_by_natural_key(username)
        except self.UserModel.DoesNotExist:
            return ""
        return "un compte utilise déjà cette adresse."

    def get_input_data(self, field, message, default=None):
        value = input(message)
        try:
            return field.clean(value, None)
        except ValidationError as error:
            self.stderr.write("Erreur : " + "; ".join(error.messages))
            return None

    def _get_input_message(self, field, default=None):
        return f"{capfirst(field.verbose_name)} : "
