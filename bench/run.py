"""`make bench SCALE=small|full`: the portal measured from outside, over HTTP, on farm-country data.

1. A throwaway PostgreSQL database is created, migrated and filled by `manage.py seed_scale`
   (bench/seeding.py; the command is the bench app's, which bench/settings.py installs).
2. The portal is served as in production (`bin/serve`: gunicorn, whitenoise, the mail worker,
   Redis), with the benchmark's settings (bench/settings.py).
3. P1/P2: each page is asked for again and again by one client; the median and p95 of its
   server time (the `Server-Timing` header) and its ratio to the bare baseline page.
   The refund pages too: « Mes demandes de remboursement », a 50-line request, and the queue of the
   Drôme's instructor (about 5,000 requests, all statuses) and its last page.
4. P3: sign-up, activation and sign-in (its password step), each divided by one Argon2 hash with
   the project's parameters, timed in this run on this machine; sign-in's second step, the code
   read from the mail, is timed apart. Every sign-in passes both steps, as a farmer does.
5. P4: a headless locust run, 50 users, bounded in time (bench/locustfile.py).
6. Memory: each gunicorn worker's peak resident memory under that load.
7. P5: the refund steps, medians of their server time: sending a 50-line draft, importing a
   500-line CSV file, the PDF receipt, and « Mettre en paiement » over HTTP with the 200 requests
   the page lists, then with 1,000 in a process of its own. Each try starts from the same
   rows: what a try changed (the draft sent, the lines imported, the batch) is put back as it
   was, straight in the database, before the next one. Sending and importing need a campaign
   open on the day of the run (the seed drafts in it): without one they are left out, and said so.
8. The peer (bench/peer.py): our sign-up and sign-in pages beside a minimal django-allauth
   project's (bench/allauth_peer/), both under gunicorn with two workers, asked in turn by one client.
9. R7 (bench/scale_out.py, unless --nodes 1): two nodes behind HAProxy, one killed under load.

Everything lands in var/bench/results.json (one key per figure); a short table is printed.
"""

import argparse
import contextlib
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import psycopg
import requests
from django_otp import oath

from bench.mailbox import activation_path, sign_in_code
from bench.middleware import HEADER as SERVER_TIMING_HEADER

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
MAIL_DIR = OUT / "mail"  # where the file backend writes the portal's mails (BENCH_MAIL_DIR)
PY = sys.executable
SCALES = {
    "small": {"structures": 20_000, "users": 50_000, "pending": 5_000, "locust_seconds": 60},
    "full": {"structures": 400_000, "users": 1_000_000, "pending": 5_000, "locust_seconds": 120},
}
PORT = int(os.environ.get("BENCH_PORT", "8765"))
SCALE_OUT_SECONDS = 60  # the two-node load; node 1 is killed half-way
BASE = f"http://127.0.0.1:{PORT}"
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "40"))
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CAPTCHA_KEY = re.compile(r'name="captcha_0" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="(device|next)" value="([^"]*)"')
VERIFY = "/compte/double-authentification/"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# Set-up ---------------------------------------------------------------------------------


def fresh_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return database_at(admin_url, name)


def database_at(admin_url: str, name: str) -> str:
    """The address of the database `name` on the server of `admin_url`."""
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


def environment(database_url: str, scale: str, mail_dir: Path = MAIL_DIR) -> dict:
    """The portal's environment under the benchmark's settings; the mails go to `mail_dir`, emptied first."""
    shutil.rmtree(mail_dir, ignore_errors=True)
    mail_dir.mkdir(parents=True)
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": database_url,
        "CACHE_URL": os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14"),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SITE_URL": BASE,
        "BIND": f"127.0.0.1:{PORT}",
        "MEDIA_ROOT": str(OUT / "media" / scale),
        "BENCH_MAIL_DIR": str(mail_dir),
        "MAIL_WORKER_INTERVAL": "1",
        "ACCESS_LOG": str(OUT / "access.log"),
        # One client address for every virtual user: the per-IP limits would stop the load test.
        "THROTTLE_SIGNUP_PER_HOUR": "1000000",
        "THROTTLE_RESEND_PER_HOUR": "1000000",
        "THROTTLE_RESET_PER_HOUR": "1000000",
        "THROTTLE_ATTACHMENT_PER_HOUR": "1000000",
        "THROTTLE_ATTACHMENT_PER_IP_PER_HOUR": "1000000",
        # The Banque de France's published example account: the benchmark pays no one.
        "PAYMENT_DEBTOR_NAME": "DGFIP - Remboursement TIC TICGN agricole",
        "PAYMENT_DEBTOR_IBAN": "FR7630001007941234567890185",
        "PAYMENT_DEBTOR_BIC": "BDFEFRPPCCT",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),  # locust imports bench.mailbox
    }


def manage(env: dict, *arguments: str) -> float:
    start = time.perf_counter()
    subprocess.run([PY, "manage.py", *arguments], cwd=ROOT, env=env, check=True)
    return time.perf_counter() - start


def flush_cache(env: dict) -> None:
    import redis

    redis.Redis.from_url(env["CACHE_URL"]).flushdb()


def serve(env: dict) -> subprocess.Popen:
    log(f"serving with bin/serve (its output: {OUT / 'serve.log'})")
    output = (OUT / "serve.log").open("w")
    server = subprocess.Popen(
        [str(ROOT / "bin" / "serve")], cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output
    )
    # migrate and collectstatic first: over a minute on a busy machine
    return answering(server, BASE, "bin/serve", seconds=300)


def answering(server: subprocess.Popen, origin: str, what: str, seconds: int) -> subprocess.Popen:
    """`server`, once its bare page at `origin` answers; stopped, and the run ended, if it stops or takes longer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{origin}/banc-d-essai/", timeout=10).status_code == 200:
                return server
        if server.poll() is not None:
            raise SystemExit(f"{what} stopped before answering")
        time.sleep(0.5)
    stop(server)
    raise SystemExit(f"{what} did not answer within {seconds} s")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def web_workers(server: subprocess.Popen) -> list[psutil.Process]:
    children = psutil.Process(server.pid).children(recursive=True)
    # bin/serve (bash) → the gunicorn master → its workers.
    gunicorn = [process for process in children if "gunicorn" in " ".join(process.cmdline())]
    return [process for process in gunicorn if process.ppid() != server.pid]


# HTTP ---------------------------------------------------------------------------------


def timing(response: requests.Response) -> tuple[float, float, int]:
    """(ms in Django, ms in SQL, queries) from the Server-Timing header."""
    match = SERVER_TIMING_HEADER.search(response.headers.get("Server-Timing", ""))
    if match is None:
        raise SystemExit(f"no Server-Timing on {response.url} ({response.status_code})")
    return float(match[1]), float(match[2]), int(match[3])


def csrf_of(html: str) -> str:
    return CSRF.search(html)[1]


def hidden_fields(html: str) -> dict:
    """The code form's hidden fields: the device whose code is typed, and where to go next."""
    return {name: unescape(value) for name, value in HIDDEN.findall(html)}


def totp(key_hex: str) -> str:
    """The code an authentication application shows now for this secret (django-otp's RFC 6238: 30 s, 6 digits)."""
    return f"{oath.totp(bytes.fromhex(key_hex)):06d}"


def sign_in(
    email: str, password: str, totp_key: str | None = None
) -> tuple[requests.Session, requests.Response, requests.Response]:
    """Both steps, as a farmer signs in: the password, then the code mailed to the login address (or, with
    `totp_key`, the code of the authentication application, as the instructor signs in).

    Returns the session and the answers to the two posts (the password's, the code's), for their timings.
    """
    session = requests.Session()
    page = session.get(f"{BASE}/compte/connexion/")
    since = time.time()  # the code to type is mailed after this
    password_step = session.post(
        f"{BASE}/compte/connexion/",
        {"csrfmiddlewaretoken": csrf_of(page.text), "username": email, "password": password},
        headers={"Referer": f"{BASE}/compte/connexion/"},
        allow_redirects=False,
    )
    if password_step.status_code != 302 or not password_step.headers["Location"].startswith(VERIFY):
        raise SystemExit(f"sign-in of {email} failed ({password_step.status_code})")
    form = session.get(BASE + password_step.headers["Location"])
    code = totp(totp_key) if totp_key else sign_in_code(MAIL_DIR, email, since)
    if code is None:
        raise SystemExit(f"no sign-in code mailed to {email} within 30 s")
    code_step = session.post(
        form.url,
        {"csrfmiddlewaretoken": csrf_of(form.text), **hidden_fields(form.text), "code": code},
        headers={"Referer": form.url},
        allow_redirects=False,
    )
    if code_step.status_code != 302 or code_step.headers["Location"].startswith(VERIFY):
        raise SystemExit(f"the sign-in code of {email} was refused ({code_step.status_code})")
    return session, password_step, code_step


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(session: requests.Session, path: str) -> dict:
    for _ in range(5):  # warm the worker's caches
        session.get(BASE + path)
    server, client, queries, db = [], [], set(), []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        response = session.get(BASE + path, allow_redirects=False)
        client.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        app_ms, db_ms, count = timing(response)
        server.append(app_ms)
        db.append(db_ms)
        queries.add(count)
    return {
        "path": path,
        "median_ms": round(statistics.median(server), 2),
        "p95_ms": round(percentile(server, 0.95), 2),
        "client_median_ms": round(statistics.median(client), 2),
        "db_median_ms": round(statistics.median(db), 2),
        "queries": max(queries),
    }


# P1/P2 ---------------------------------------------------------------------------------


REFUNDS = "/facturation/remboursement-de-taxes"


def pages(manifest: dict, instructor: requests.Session) -> dict:
    structure = manifest["structure_id"]
    request = manifest["pending_request_ids"][0]
    refund = manifest["refund_request_ids"][-1]  # the bench farm's latest request sent: 50 lines, paid
    queue_pages = math.ceil(manifest["departement_sent"] / 50)
    anonymous = requests.Session()
    manager, *_ = sign_in(manifest["manager"], manifest["password"])
    member, *_ = sign_in(manifest["member"], manifest["password"])
    plan = [
        ("baseline (visitor)", anonymous, "/banc-d-essai/", None),
        ("home (visitor)", anonymous, "/", "baseline (visitor)"),
        ("sign-up", anonymous, "/compte/inscription/", "baseline (visitor)"),
        ("baseline (manager)", manager, "/banc-d-essai/", None),
        ("home", manager, "/", "baseline (manager)"),
        ("Organisation", manager, "/organisation/", "baseline (manager)"),
        ("Structures", manager, "/organisation/structures/", "baseline (manager)"),
        ("bank list (structure page)", manager, f"/organisation/structures/{structure}/", "baseline (manager)"),
        ("structure edit", manager, f"/organisation/structures/{structure}/modifier/", "baseline (manager)"),
        ("Approbations (5,000 pending)", manager, "/approbations/", "baseline (manager)"),
        ("Approbations, last page", manager, f"/approbations/?page={manifest['pending'] // 50}", "baseline (manager)"),
        ("request detail", manager, f"/approbations/{request}/", "baseline (manager)"),
        ("Mes demandes de remboursement", manager, f"{REFUNDS}/demandes/", "baseline (manager)"),
        ("refund request (50 lines)", manager, f"{REFUNDS}/demandes/{refund}/", "baseline (manager)"),
        ("baseline (member)", member, "/banc-d-essai/", None),
        ("Mes rattachements", member, "/organisation/rattachements/", "baseline (member)"),
        ("baseline (instructor)", instructor, "/banc-d-essai/", None),
        ("instruction queue (to do)", instructor, "/instruction/", "baseline (instructor)"),
        (
            f"instruction queue ({manifest['departement_sent']:,} sent)",
            instructor,
            "/instruction/?status=tous",
            "baseline (instructor)",
        ),
        (
            "instruction queue, last page",
            instructor,
            f"/instruction/?status=tous&page={queue_pages}",
            "baseline (instructor)",
        ),
    ]
    results = {}
    for name, session, path, baseline in plan:
        results[name] = measure(session, path)
        if baseline:
            results[name]["ratio_to_baseline"] = round(results[name]["median_ms"] / results[baseline]["median_ms"], 2)
        log(f"{name}: median {results[name]['median_ms']} ms, {results[name]['queries']} queries")
    return results


# P3 ---------------------------------------------------------------------------------------


def one_hash_ms(env: dict) -> float:
    """One Argon2 hash with the project's parameters, in a process of its own, median of 20."""
    script = (
        "import statistics, time\n"
        "from accounts.hashers import PortalArgon2PasswordHasher\n"
        "hasher = PortalArgon2PasswordHasher()\n"
        "times = []\n"
        "for n in range(21):\n"
        "    start = time.perf_counter(); hasher.encode('Moisson-Bench-2031!', hasher.salt())\n"
        "    times.append((time.perf_counter() - start) * 1000)\n"
        "print(statistics.median(times[1:]))\n"
    )
    output = subprocess.run([PY, "-c", script], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return float(output.stdout.strip())


def hashing_steps(env: dict, manifest: dict, runs: int = 15) -> dict:
    from stdnum import luhn

    mail_dir = Path(env["BENCH_MAIL_DIR"])
    signups, activations, sign_ins, codes = [], [], [], []
    password = "Tracteur-Bleu-Colza-2031"
    for n in range(runs):
        session = requests.Session()
        page = session.get(f"{BASE}/compte/inscription/")
        email = f"p3.{n}.{secrets.token_hex(3)}@exemple.fr"
        siren = f"9{n:02d}{secrets.randbelow(10**5):05d}"
        siren += luhn.calc_check_digit(siren)
        siret = siren + "0001"
        siret += luhn.calc_check_digit(siret)
        response = session.post(
            f"{BASE}/compte/inscription/",
            {
                "csrfmiddlewaretoken": csrf_of(page.text),
                "email": email,
                "email_confirmation": email,
                "first_name": "Camille",
                "last_name": "Banc",
                "phone": "",
                "contact_email": "",
                "accept_terms": "on",
                "identifier_type": "siret",
                "identifier": siret,
                "captcha_0": CAPTCHA_KEY.search(page.text)[1],
                "captcha_1": "PASSED",
            },
            headers={"Referer": f"{BASE}/compte/inscription/"},
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise SystemExit(f"sign-up failed ({response.status_code})")
        signups.append(timing(response)[0])

        link = activation_path(mail_dir, email)
        if link is None:
            raise SystemExit(f"no activation mail for {email} within 30 s")
        form = session.get(BASE + link)
        response = session.post(
            form.url,
            {"csrfmiddlewaretoken": csrf_of(form.text), "new_password1": password, "new_password2": password},
            headers={"Referer": form.url},
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise SystemExit(f"activation failed ({response.status_code})")
        activations.append(timing(response)[0])

        _, password_step, code_step = sign_in(email, password)
        sign_ins.append(timing(password_step)[0])
        codes.append(timing(code_step)[0])
    one_hash = one_hash_ms(env)
    # « sign-in » is its password step, the one that hashes; the code's step follows once the mail is read.
    steps = {"sign-up": signups, "activation": activations, "sign-in": sign_ins, "sign-in code": codes}
    result = {"one_argon2_hash_ms": round(one_hash, 2)}
    for name, times in steps.items():
        median = statistics.median(times)
        result[name] = {"median_ms": round(median, 2), "ratio_to_one_hash": round(median / one_hash, 2)}
        log(f"{name}: median {median:.1f} ms = {median / one_hash:.2f} × one hash ({one_hash:.1f} ms)")
    return result


# P4 ---------------------------------------------------------------------------------------


def load_test(env: dict, server: subprocess.Popen, manifest_path: Path, seconds: int) -> dict:
    prefix = OUT / "locust"
    workers = web_workers(server)
    peaks = {process.pid: 0 for process in workers}
    command = [
        str(Path(PY).parent / "locust"),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--users",
        "50",
        "--spawn-rate",
        "10",
        "--run-time",
        f"{seconds}s",
        "--host",
        BASE,
        "--csv",
        str(prefix),
        "--only-summary",
        "--reset-stats",  # from the moment all fifty are in: not the sign-in rush of the first seconds
        "--loglevel",
        "WARNING",
    ]
    locust = subprocess.Popen(command, cwd=ROOT, env={**env, "BENCH_MANIFEST": str(manifest_path)})
    while locust.poll() is None:
        for process in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                peaks[process.pid] = max(peaks[process.pid], process.memory_info().rss)
        time.sleep(0.5)
    rows = list(csv_rows(prefix.with_name("locust_stats.csv")))
    by_page = {
        row["Name"]: {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "p50_ms": float(row["50%"]),
            "p95_ms": float(row["95%"]),
            "p99_ms": float(row["99%"]),
            "rps": round(float(row["Requests/s"]), 2),
        }
        for row in rows
    }
    total = by_page.pop("Aggregated")
    return {
        "users": 50,
        "seconds": seconds,
        "requests_per_second": total["rps"],
        "requests": total["requests"],
        "errors": total["failures"],
        "p50_ms": total["p50_ms"],
        "p95_ms": total["p95_ms"],
        "p99_ms": total["p99_ms"],
        "pages": by_page,
        "workers": len(workers),
        "peak_rss_per_worker_mib": sorted(round(peak / 2**20, 1) for peak in peaks.values()),
    }


def csv_rows(path: Path):
    import csv

    with path.open() as file:
        yield from csv.DictReader(file)


# P5 ---------------------------------------------------------------------------------------


def refund_steps(env: dict, manifest: dict, runs: int = 7) -> dict:
    """The farm's and the tax office's heavy steps, each median of `runs` tries (the receipt: `SAMPLES` downloads).

    Before each try the database holds what the seed made: a try's changes are undone by SQL after it is timed.
    """
    manager, *_ = sign_in(manifest["manager"], manifest["password"])  # « Envoyer » asks for a recent sign-in
    member, *_ = sign_in(manifest["member"], manifest["password"])
    instructor, *_ = sign_in(manifest["instructor"], manifest["password"], totp_key=manifest["totp_key"])
    draft, target = manifest["refund_draft_id"], manifest["import_draft_id"]
    results = {}
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as database:
        if draft is None or target is None:
            # The seed drafts in the open campaign only (seeding.RefundPlan): none is open until staff add the next.
            log("No refund campaign is open today: sending and the CSV import are not measured (a draft needs one)")
        else:
            results["send (50 lines)"] = _timed(runs, lambda: _send(manager, draft), lambda _: _unsend(database, draft))
            csv_file = _lines_csv(IMPORTED, _year_of(database, target))
            results[f"CSV import ({IMPORTED} lines)"] = _timed(
                runs, lambda: _import(member, target, csv_file), lambda _: _unimport(database, target)
            )
        paying = manifest["payable_request_ids"][:PAGE_BATCH]
        results[f"payment batch ({len(paying):,} transfers)"] = _timed(
            runs, lambda: _pay(instructor, paying), lambda batch: _unpay(database, paying, batch)
        )
    thousand = manifest["payable_request_ids"][:1000]
    results[f"payment batch ({len(thousand):,} transfers, in-process)"] = payment_in_process(env, manifest, thousand)
    receipt = measure(manager, f"{REFUNDS}/demandes/{manifest['refund_request_ids'][-1]}/accuse-de-depot.pdf")
    results["receipt PDF (50 lines)"] = {
        "median_ms": receipt["median_ms"],
        "runs": SAMPLES,
        "queries": receipt["queries"],
    }
    for name, result in results.items():
        log(f"{name}: median {result['median_ms']} ms")
    return results


# « Paiements » lists 200 accepted requests to tick (instruction.payment_views.PAYABLE_SHOWN).
PAGE_BATCH = 200
IMPORTED = 500  # lines in the CSV file: the most a request holds (REFUND_IMPORT_MAX_LINES)


def payment_in_process(env: dict, manifest: dict, ids: list[int], runs: int = 3) -> dict:
    """« Mettre en paiement » of `ids` as the page's POST calls it (`instruction.workflows.put_in_payment`: the
    rows locked, the SEPA file built, checked against its schema and stored, an event and mails per request), in a
    process of its own, each run rolled back; no page can send that many ids (`PAGE_BATCH`)."""
    script = (
        "import json, statistics, sys, time\n"
        "import django\n"
        "django.setup()\n"
        "from django.db import connection, transaction\n"
        "from accounts.models import User\n"
        "from instruction import workflows\n"
        "ids, email, departement, runs = json.loads(sys.argv[1])\n"
        "by = User.objects.get(email=email)\n"
        "times, queries = [], 0\n"
        "class Undo(Exception): pass\n"
        "for _ in range(runs):\n"
        "    try:\n"
        "        with transaction.atomic():\n"
        "            before = len(connection.queries)\n"
        "            start = time.perf_counter()\n"
        "            workflows.put_in_payment(ids, by=by, departements=[departement])\n"
        "            times.append((time.perf_counter() - start) * 1000)\n"
        "            raise Undo\n"
        "    except Undo:\n"
        "        pass\n"
        "print(json.dumps({'median_ms': round(statistics.median(times), 2), 'runs': runs}))\n"
    )
    argument = json.dumps([ids, manifest["instructor"], manifest["departement"], runs])
    output = subprocess.run(
        [PY, "-c", script, argument], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    return {**json.loads(output.strip().splitlines()[-1]), "queries": None}


def _timed(runs: int, step, undo) -> dict:
    times, queries = [], set()
    for _ in range(runs):
        response, state = step()
        app_ms, _, count = timing(response)
        times.append(app_ms)
        queries.add(count)
        undo(state)
    return {"median_ms": round(statistics.median(times), 2), "runs": runs, "queries": max(queries)}


def _posted(session: requests.Session, path: str, data: dict, files=None) -> requests.Response:
    """The form's page, then its POST as a browser sends it; a redirect is the step done."""
    page = session.get(BASE + path)
    response = session.post(
        BASE + path,
        {"csrfmiddlewaretoken": csrf_of(page.text), **data},
        files=files,
        headers={"Referer": BASE + path},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"POST {path} answered {response.status_code}, not a redirect")
    return response


def _send(session: requests.Session, draft: int):
    return _posted(session, f"{REFUNDS}/demandes/{draft}/envoyer/", {}), None


def _unsend(database, draft: int) -> None:
    """The request a draft again, as seeded: no number, nothing frozen, no flag, no event but its creation."""
    status = database.execute("SELECT status FROM refunds_refundrequest WHERE id = %s", [draft]).fetchone()[0]
    if status != "filed":
        raise SystemExit(f"the draft {draft} was not sent (« {status} »): the page refused it")
    database.execute("DELETE FROM refunds_refundflag WHERE request_id = %s", [draft])
    database.execute("DELETE FROM refunds_refundevent WHERE request_id = %s AND kind <> 'created'", [draft])
    database.execute("DELETE FROM refunds_historicalrefundline WHERE request_id = %s", [draft])
    database.execute(
        "UPDATE refunds_refundrequest SET status = 'draft', number = NULL, filed_at = NULL, filed_by_id = NULL, "
        "filer_centre_id = NULL, departement = '', bank_label = '', bank_holder = '', bank_iban = '', bank_bic = '', "
        "beneficiary_category = '', pacage = '' WHERE id = %s",
        [draft],
    )


def _year_of(database, request_id: int) -> int:
    return database.execute("SELECT year FROM refunds_refundrequest WHERE id = %s", [request_id]).fetchone()[0]


def _lines_csv(count: int, year: int) -> bytes:
    """A file as a French spreadsheet saves it: `;`, decimal commas, UTF-8 with a BOM; gazole non routier mostly."""
    products = ["gnr"] * 8 + ["gpl", "gaz-naturel-combustible"]
    rows = ["numero_facture;date_facture;fournisseur;produit;quantite"]
    for n in range(count):
        day = 1 + n % 28
        month = 1 + n % 12
        rows.append(
            f"IMP-{year}-{n:05d};{day:02d}/{month:02d}/{year};Coopérative du Val;{products[n % 10]};{1000 + n},50"
        )
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode()


def _import(session: requests.Session, target: int, content: bytes):
    files = {"file": ("lignes.csv", content, "text/csv")}
    return _posted(session, f"{REFUNDS}/demandes/{target}/importer/", {}, files=files), None


def _unimport(database, target: int) -> None:
    database.execute("DELETE FROM refunds_historicalrefundline WHERE request_id = %s", [target])
    deleted = database.execute("DELETE FROM refunds_refundline WHERE request_id = %s", [target]).rowcount
    if deleted != IMPORTED:
        raise SystemExit(f"the import added {deleted} lines, not {IMPORTED}")
    database.execute("UPDATE refunds_refundrequest SET total_asked = 0 WHERE id = %s", [target])


def _pay(instructor: requests.Session, paying: list[int]):
    response = _posted(instructor, "/instruction/paiements/", {"requests": paying})
    batch = int(re.search(r"/lots/(\d+)/", response.headers["Location"])[1])
    return response, batch


def _unpay(database, paying: list[int], batch: int) -> None:
    """The requests accepted again, not in payment; their « Mise en paiement » events and the batch gone."""
    database.execute(
        "UPDATE refunds_refundrequest SET status = CASE WHEN total_granted < total_asked THEN 'partly_accepted' "
        "ELSE 'accepted' END, payment_batch_id = NULL WHERE payment_batch_id = %s",
        [batch],
    )
    database.execute("DELETE FROM refunds_refundevent WHERE request_id = ANY(%s) AND kind = 'in_payment'", [paying])
    database.execute("DELETE FROM refunds_paymentbatch WHERE id = %s", [batch])


# Main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--nodes", type=int, choices=(1, 2), default=2, help="2: then the two-node run behind HAProxy (R7); 1: not"
    )
    parser.add_argument(
        "--peer", action=argparse.BooleanOptionalAction, default=True, help="then the django-allauth comparison"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="measure the database a --keep run of this scale left (and its manifest), without seeding it again",
    )
    arguments = parser.parse_args()
    scale_name, keep = arguments.scale, arguments.keep or arguments.reuse
    scale = SCALES[scale_name]
    OUT.mkdir(parents=True, exist_ok=True)
    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    database = f"chorus_bench_{scale_name}"

    log(f"scale {scale_name}: {scale}")
    if arguments.reuse:
        env = environment(database_at(admin_url, database), scale_name)
    else:
        env = environment(fresh_database(admin_url, database), scale_name)
    flush_cache(env)
    results = {
        "scale": scale_name,
        "machine": {
            "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "load_average_at_start": round(os.getloadavg()[0], 2),
        },
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    manifest_path = OUT / "seed.json"
    if arguments.reuse:
        results["seed_seconds"] = None  # seeded by the run that kept it
    else:
        manage(env, "migrate", "--noinput", "--verbosity", "0")
        results["seed_seconds"] = round(
            manage(
                env,
                "seed_scale",
                "--structures",
                str(scale["structures"]),
                "--users",
                str(scale["users"]),
                "--pending",
                str(scale["pending"]),
                "--manifest",
                str(manifest_path),
            ),
            1,
        )
    manifest = {**json.loads(manifest_path.read_text()), "pending": scale["pending"]}
    results["rows"] = manifest.get("counts", {})
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        results["database_size"] = connection.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()[0]

    server = serve(env)
    try:
        log("P1/P2: pages")
        instructor, *_ = sign_in(manifest["instructor"], manifest["password"], totp_key=manifest["totp_key"])
        results["pages"] = pages(manifest, instructor)
        log("P3: hashing steps")
        results["hashing"] = hashing_steps(env, manifest)
        log(f"P4: locust, 50 users, {scale['locust_seconds']} s")
        flush_cache(env)
        results["load"] = load_test(env, server, manifest_path, scale["locust_seconds"])
        log("P5: refund steps")
        results["refunds"] = refund_steps(env, manifest)
    finally:
        stop(server)
    # Each serves the portal its own way once the single server is gone, so that none shares the cores.
    if arguments.peer:
        from bench.peer import compare

        log("Peer: our sign-up and sign-in beside django-allauth's")
        results["peer"] = compare(env)
    if arguments.nodes == 2:
        from bench.scale_out import scale_out  # it builds on this module's helpers

        log("R7: two nodes behind HAProxy, one killed under load (it writes: last)")
        results["scale_out"] = scale_out(env, manifest_path, SCALE_OUT_SECONDS)
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    results["memory"] = memory_budget(results)
    (OUT / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print_table(results)
    if not keep:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def memory_budget(results: dict) -> dict:
    """How many Argon2 hashes fit side by side in a 2-core, 4 GiB host beside the workers."""
    from accounts.hashers import PortalArgon2PasswordHasher

    hash_mib = PortalArgon2PasswordHasher.memory_cost / 1024
    peaks = results["load"]["peak_rss_per_worker_mib"]
    workers_mib = sum(peaks)
    reserve_mib = 1024  # PostgreSQL, Redis, the mail worker and the system, on the same host
    free = 4096 - reserve_mib - workers_mib
    return {
        "argon2_memory_per_hash_mib": hash_mib,
        "peak_rss_per_worker_mib": max(peaks),
        "workers_total_mib": round(workers_mib, 1),
        "reserved_for_postgresql_redis_system_mib": reserve_mib,
        "concurrent_hashes_in_4_gib": int(free // hash_mib),
    }


def print_table(results: dict) -> None:
    print(f"\nScale {results['scale']}: {results['rows']} — seeded in {results['seed_seconds']} s\n")
    print(f"{'page':34} {'median ms':>10} {'p95 ms':>8} {'× base':>7} {'queries':>8}")
    for name, page in results["pages"].items():
        ratio = page.get("ratio_to_baseline", "")
        print(f"{name:34} {page['median_ms']:>10} {page['p95_ms']:>8} {ratio!s:>7} {page['queries']:>8}")
    hashing = results["hashing"]
    print(f"\nOne Argon2 hash: {hashing['one_argon2_hash_ms']} ms")
    for step in ("sign-up", "activation", "sign-in", "sign-in code"):
        print(f"{step:34} {hashing[step]['median_ms']:>10} ms = {hashing[step]['ratio_to_one_hash']} × one hash")
    load = results["load"]
    print(
        f"\nLocust, {load['users']} users, {load['seconds']} s: {load['requests_per_second']} req/s, "
        f"p50 {load['p50_ms']} ms, p95 {load['p95_ms']} ms, p99 {load['p99_ms']} ms, {load['errors']} errors"
    )
    for name, page in load["pages"].items():
        figures = f"p50 {page['p50_ms']:>6} p95 {page['p95_ms']:>6} p99 {page['p99_ms']:>6}"
        print(f"  {name:40} {figures} errors {page['failures']}")
    print("\nRefund steps (median of the server time):")
    for name, step in results.get("refunds", {}).items():
        queries = "" if step["queries"] is None else f", {step['queries']} queries"
        print(f"  {name:48} {step['median_ms']:>10} ms  ({step['runs']} runs{queries})")
    memory = results["memory"]
    print(
        f"\nPeak RSS per worker {memory['peak_rss_per_worker_mib']} MiB ({load['workers']} workers); "
        f"{memory['concurrent_hashes_in_4_gib']} Argon2 hashes of {memory['argon2_memory_per_hash_mib']} MiB fit "
        "side by side in 4 GiB\n"
    )
    if "peer" in results:
        from bench import peer

        peer.print_table(results["peer"])
    if "scale_out" in results:
        nodes = results["scale_out"]
        print(
            f"\nTwo nodes behind HAProxy, node 1 killed half-way: {nodes['requests']} requests "
            f"{nodes['requests_per_node']}, {nodes['errors']} errors of which "
            f"{nodes['errors_outside_the_killed_node']} outside the killed node's requests in flight; "
            f"{nodes['lost_writes']} confirmed writes lost, "
            f"{nodes['duplicate_mails']} mails sent twice, {nodes['lost_mails']} never sent; across nodes, sessions "
            f"{_held(nodes['sessions_across_nodes'])}, lockouts {_held(nodes['lockouts_across_nodes'])}, "
            f"throttles {_held(nodes['throttles_across_nodes'])}"
        )
    print(f"Written: {OUT / 'results.json'}")


def _held(held: bool) -> str:
    return "held" if held else "DID NOT HOLD"


if __name__ == "__main__":
    main()
