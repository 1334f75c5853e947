"""`manage.py import_sirene --etablissements FILE --unites-legales FILE [--date AAAA-MM-JJ] [--force]`."""

import sys
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from sirene import importer

# Without a terminal (cron, a service's log), one progress line every ten seconds.
LOG_EVERY = 10


class Command(BaseCommand):
    help = (
        "Charge le stock du répertoire SIRENE publié par INSEE (StockEtablissement et StockUniteLegale, en CSV ou "
        "dans le ZIP d'INSEE) et le met en service à la place du précédent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--etablissements", required=True, metavar="FICHIER", help="StockEtablissement, CSV ou ZIP")
        parser.add_argument("--unites-legales", required=True, metavar="FICHIER", help="StockUniteLegale, CSV ou ZIP")
        parser.add_argument(
            "--date",
            type=date.fromisoformat,
            metavar="AAAA-MM-JJ",
            help="la date du stock ; par défaut celle que les deux archives ZIP donnent à leur fichier",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="mettre le stock en service même s'il semble incomplet ou s'il est plus ancien que celui en service",
        )

    def handle(self, *args, **options):
        self.interactive = sys.stderr.isatty()
        self.shown_at = 0.0
        self.began = time.monotonic()
        try:
            outcome = importer.load(
                options["etablissements"],
                options["unites_legales"],
                stock_date=options["date"],
                force=options["force"],
                progress=self.show,
            )
        except importer.ImportFailed as failure:
            raise CommandError(self.failed(f"{failure} {importer.UNCHANGED}")) from None
        except KeyboardInterrupt:
            raise CommandError(self.failed(f"Import interrompu. {importer.UNCHANGED}")) from None
        except DatabaseError as error:
            raise CommandError(
                self.failed(f"La base de données a refusé l'import ({error}). {importer.UNCHANGED}")
            ) from None
        self.end_progress()
        for line in outcome.lines():
            self.stdout.write(line)

    def show(self, progress: importer.Progress) -> None:
        now = time.monotonic()
        if progress.stage:
            line = f"{progress.stage}…"
        elif not self.interactive and not progress.final and now - self.shown_at < LOG_EVERY:
            return
        else:
            rate = progress.rows / progress.elapsed if progress.elapsed else 0
            line = f"{progress.label} : {importer.figure(progress.rows)} lignes, {importer.figure(rate)} lignes/s"
            if 0.01 < progress.fraction < 1:
                remaining = (now - self.began) * (1 - progress.fraction) / progress.fraction
                end = timezone.localtime() + timedelta(seconds=remaining)
                line += f", {progress.fraction * 100:.0f} % des fichiers lus, fin estimée vers {end:%H:%M:%S}"
        self.shown_at = now
        if self.interactive:
            self.stderr.write(f"\r{line}\033[K", ending="")
        else:
            self.stderr.write(line)
        self.stderr.flush()
        self.shown = True

    def end_progress(self) -> None:
        if self.interactive and getattr(self, "shown", False):
            self.stderr.write("")

    def failed(self, message: str) -> str:
        self.end_progress()
        return message
