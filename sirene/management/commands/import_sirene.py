"""`manage.py import_sirene --etablissements FILE --unites-legales FILE [--date AAAA-MM-JJ]`."""

import sys
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sirene import importer


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
            help="la date du stock ; par défaut celle du fichier dans l'archive, ou du fichier CSV",
        )

    def handle(self, *args, **options):
        self.interactive = sys.stderr.isatty()
        try:
            outcome = importer.load(
                options["etablissements"],
                options["unites_legales"],
                stock_date=options["date"],
                progress=self.show,
            )
        except importer.ImportFailed as failure:
            self.end_progress()
            raise CommandError(str(failure)) from None
        except KeyboardInterrupt:
            self.end_progress()
            raise CommandError("Import interrompu : le répertoire en service n'a pas changé.") from None
        self.end_progress()
        for line in outcome.lines():
            self.stdout.write(line)

    def show(self, progress: importer.Progress) -> None:
        rate = progress.rows / progress.elapsed if progress.elapsed else 0
        line = f"{progress.label} : {importer.figure(progress.rows)} lignes, {importer.figure(rate)} lignes/s"
        if 0.01 < progress.fraction < 1:
            remaining = progress.elapsed * (1 - progress.fraction) / progress.fraction
            end = timezone.localtime() + timedelta(seconds=remaining)
            line += f", {progress.fraction:.0%} des fichiers lus, fin estimée vers {end:%H:%M:%S}"
        if self.interactive:
            self.stderr.write(f"\r{line}\033[K", ending="")
        else:
            self.stderr.write(line)
        self.stderr.flush()
        self.shown = True

    def end_progress(self) -> None:
        if self.interactive and getattr(self, "shown", False):
            self.stderr.write("")
