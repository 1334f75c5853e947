"""`python -m bench.timing`: does an answer take longer when the address has an account? (QUALITY S13)

The steps whose outcome depends on an account the page must not reveal are timed from outside:
« Mot de passe oublié », « Recevoir un nouveau lien » and « Créer mon compte », each over the kinds
of address it treats differently. The portal is served in this process, by Django's threaded
server with the benchmark's settings (bench/settings.py: production's, DEBUG off, mail stored for
the worker and never sent), on a throwaway database: SQLite in a temporary folder, or PostgreSQL
with `--postgres ADMIN_URL` (a database created for the run, then dropped).

The cases of a step are asked in turn, shuffled, `--tries` times each, over HTTP on the loopback.
A try is timed from sending the request to the last byte of its answer: what a visitor can
measure. The server is then left to finish (the work it does after the answer), and that time is
printed too, but the next try starts only once it is idle, so that no try waits on another's work.
Printed per case: the medians and the middle half; per step, the gap between the largest and the
smallest median answer. The figures also land in var/bench/timing.json (or `--json PATH`).
"""

import argparse
import http.client
import json
import os
import random
import secrets
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

OUT = Path(__file__).resolve().parent.parent / "var" / "bench"
PASSWORD = "Tracteur-Bleu-Colza-2031"
ACTIVE = "actif@exemple.fr"
NEVER_ACTIVATED = "attente@exemple.fr"
UNKNOWN = "inconnu@exemple.fr"


def configure(database_url: str, mail_dir: str) -> None:
    """The benchmark's settings, fed as bench/run.py feeds them, before Django starts."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url,
            "CACHE_URL": "locmemcache://",  # one process: the throttling counters need no sharing
            "ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": "http://127.0.0.1",
            "BENCH_MAIL_DIR": mail_dir,
            # The Banque de France's published example account: the benchmark pays no one.
            "PAYMENT_DEBTOR_NAME": "DGFIP - Remboursement TIC TICGN agricole",
            "PAYMENT_DEBTOR_IBAN": "FR7630001007941234567890185",
            "PAYMENT_DEBTOR_BIC": "BDFEFRPPCCT",
            "LOG_LEVEL": "WARNING",
            # One client address for every try: the per-IP limits would stop the run.
            "THROTTLE_SIGNUP_PER_HOUR": "1000000",
            "THROTTLE_RESEND_PER_HOUR": "1000000",
            "THROTTLE_RESET_PER_HOUR": "1000000",
        }
    )


def throwaway_postgres(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A database of its own for the run, and the function that drops it."""
    import psycopg

    name = f"chorus_timing_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return urlsplit(admin_url)._replace(path=f"/{name}").geturl(), drop


def prepare() -> None:
    """The schema, and one account of each kind the steps tell apart."""
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import User

    call_command("migrate", verbosity=0)
    now = timezone.now()
    names = {"first_name": "Camille", "last_name": "Banc"}
    User.objects.create_user(ACTIVE, PASSWORD, is_active=True, activated_at=now, **names)
    User.objects.create_user(NEVER_ACTIVATED, activation_sent_at=now, **names)


def serve() -> int:
    """The portal on a free loopback port, one thread per request; returns the port."""
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def new_siret(rng: random.Random) -> str:
    from stdnum import luhn

    siren = "9" + "".join(rng.choice("0123456789") for _ in range(7))
    siren += luhn.calc_check_digit(siren)
    nic = "".join(rng.choice("0123456789") for _ in range(4))
    return siren + nic + luhn.calc_check_digit(siren + nic)


class Visitor:
    """Posts forms as a browser would, a new connection each time, with one CSRF cookie throughout."""

    def __init__(self, port: int):
        from django.utils.crypto import get_random_string

        self.port = port
        self.token = get_random_string(32)
        self.idle_threads = threading.active_count()

    def post(self, path: str, fields: dict) -> tuple[float, float]:
        """(ms until the last byte of the answer, ms until the server is idle again)."""
        body = urlencode({**fields, "csrfmiddlewaretoken": self.token})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={self.token}"}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        start = time.perf_counter()
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        answered = time.perf_counter() - start
        connection.close()
        if response.status != 302:
            raise SystemExit(f"{path} answered {response.status} instead of a redirect")
        while threading.active_count() > self.idle_threads:  # the request's thread ends once its work is done
            time.sleep(0.0002)
        return answered * 1000, (time.perf_counter() - start) * 1000


def steps(visitor: Visitor, rng: random.Random) -> dict:
    """Each step: its cases, each a function that makes one try."""
    from captcha.models import CaptchaStore

    def reset(email):
        return lambda n: visitor.post("/compte/mot-de-passe-oublie/", {"email": email})

    def resend(email):
        return lambda n: visitor.post("/compte/activer/nouveau-lien/", {"email": email})

    def sign_up(email_of):
        def attempt(n):
            email = email_of(n)
            fields = {
                "email": email,
                "email_confirmation": email,
                "first_name": "Camille",
                "last_name": "Banc",
                "accept_terms": "on",
                "identifier_type": "siret",
                "identifier": new_siret(rng),  # a new structure each time, for both cases
                "captcha_0": CaptchaStore.generate_key(),
                "captcha_1": "PASSED",  # the benchmark's captcha test mode
            }
            return visitor.post("/compte/inscription/", fields)

        return attempt

    return {
        "« Mot de passe oublié »": {
            "unknown address": reset(UNKNOWN),
            "active account": reset(ACTIVE),
            "never activated": reset(NEVER_ACTIVATED),
        },
        "« Recevoir un nouveau lien »": {
            "unknown address": resend(UNKNOWN),
            "never activated": resend(NEVER_ACTIVATED),
        },
        "« Créer mon compte »": {
            "free address": sign_up(lambda n: f"libre.{n}@exemple.fr"),
            "taken address": sign_up(lambda n: ACTIVE),
        },
    }


def middle_half(values: list[float]) -> tuple[float, float]:
    quartiles = statistics.quantiles(values, n=4)
    return round(quartiles[0], 2), round(quartiles[2], 2)


def measure(cases: dict, tries: int, rng: random.Random, warm_up: int = 10) -> dict:
    """Every case `tries` times, in a shuffled order each round, after a few untimed rounds."""
    answers = {case: [] for case in cases}
    idle = {case: [] for case in cases}
    for n in range(warm_up + tries):
        order = list(cases)
        rng.shuffle(order)
        for case in order:
            answered, finished = cases[case](n)
            if n >= warm_up:
                answers[case].append(answered)
                idle[case].append(finished)
    results = {
        case: {
            "answer_median_ms": round(statistics.median(answers[case]), 2),
            "answer_middle_half_ms": middle_half(answers[case]),
            "until_idle_median_ms": round(statistics.median(idle[case]), 2),
        }
        for case in cases
    }
    medians = [result["answer_median_ms"] for result in results.values()]
    return {"tries": tries, "cases": results, "answer_gap_ms": round(max(medians) - min(medians), 2)}


def report(results: dict) -> None:
    print(f"{'step / case':<46}{'answer, median':>16}{'middle half':>18}{'until idle':>14}")
    for step, result in results.items():
        print(step)
        for case, figures in result["cases"].items():
            low, high = figures["answer_middle_half_ms"]
            print(
                f"  {case:<44}{figures['answer_median_ms']:>13.2f} ms"
                f"{f'{low:.2f}–{high:.2f} ms':>18}{figures['until_idle_median_ms']:>11.2f} ms"
            )
        print(f"  {'gap between the medians of the answers':<44}{result['answer_gap_ms']:>13.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tries", type=int, default=150, help="timed tries per case (default 150)")
    parser.add_argument("--postgres", metavar="ADMIN_URL", help="PostgreSQL server to create the database on")
    parser.add_argument("--seed", type=int, default=2031, help="order of the tries and SIRETs")
    parser.add_argument("--json", type=Path, default=OUT / "timing.json", help="where to write the figures")
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)

    with tempfile.TemporaryDirectory(prefix="chorus-timing-") as folder:
        drop = None
        if arguments.postgres:
            database_url, drop = throwaway_postgres(arguments.postgres)
        else:
            database_url = f"sqlite:///{folder}/timing.sqlite3"
        configure(database_url, mail_dir=folder)
        import django

        django.setup()
        try:
            prepare()
            visitor = Visitor(serve())
            results = {step: measure(cases, arguments.tries, rng) for step, cases in steps(visitor, rng).items()}
        finally:
            from django.db import connections

            connections.close_all()
            if drop is not None:
                drop()
    report(results)
    arguments.json.parent.mkdir(parents=True, exist_ok=True)
    database = "PostgreSQL" if arguments.postgres else "SQLite"
    arguments.json.write_text(json.dumps({"database": database, "steps": results}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
