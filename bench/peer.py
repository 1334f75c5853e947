"""The portal's sign-up and sign-in pages beside django-allauth's, served and asked alike.

Each side is served by gunicorn with two sync workers on a loopback port of its own: the portal with the
benchmark's settings (bench/settings.py), the peer with bench/allauth_peer/settings.py on a throwaway database of
its own, migrated here. One client asks both, the two sides in turn, request after request, so that whatever
else the machine does weighs on both alike; each figure is the median (and p95) of the client's time for the
page, and the ratio is ours over allauth's. Each side's bare page (its base template around one heading) is
measured too: the yardstick of the other two.

`compare(env)` is what `make bench` calls with its own environment (its database seeded and migrated), once its
own server is stopped, so that no other worker shares the cores; `python -m bench.peer` does the whole on a fresh
database of ours that is only migrated: these pages read no data.
"""

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import redis
import requests

from bench.run import OUT, ROOT, answering, environment, fresh_database, log, percentile, stop, timing

PY = sys.executable
GUNICORN = str(Path(PY).parent / "gunicorn")
OURS_PORT, PEER_PORT = 8781, 8782
OURS_CACHE, PEER_CACHE = "redis://127.0.0.1:6379/10", "redis://127.0.0.1:6379/11"
OURS_DATABASE, PEER_DATABASE = "chorus_peer_ours", "chorus_peer_allauth"
WORKERS = 2
WARM_UP = 20  # requests per page and side before the measure: templates compiled, connections open
# Page: (our path, allauth's path).
PAGES = {
    "bare": ("/banc-d-essai/", "/banc-d-essai/"),
    "sign-up": ("/compte/inscription/", "/accounts/signup/"),
    "sign-in": ("/compte/connexion/", "/accounts/login/"),
}


def admin_url() -> str:
    return os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def compare(env: dict, requests_per_page: int = 300) -> dict:
    """Our pages and allauth's, `requests_per_page` GETs of each page on each side, interleaved."""
    ours_env = {
        **env,
        "BIND": f"127.0.0.1:{OURS_PORT}",
        "SITE_URL": f"http://127.0.0.1:{OURS_PORT}",
        "CACHE_URL": OURS_CACHE,
        "CONN_MAX_AGE": "60",  # as bin/serve sets it
    }
    peer_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.allauth_peer.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": fresh_database(admin_url(), PEER_DATABASE),
        "CACHE_URL": PEER_CACHE,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONPATH": str(ROOT),
    }
    log("peer: migrating allauth's database; ours: collecting static files (its pages name them)")
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "--verbosity", "0"], cwd=ROOT, env=peer_env, check=True)
    subprocess.run(
        [PY, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=ROOT, env=ours_env, check=True
    )
    for url in (OURS_CACHE, PEER_CACHE):
        redis.Redis.from_url(url).flushdb()

    servers = []
    try:
        servers.append(start("ours", "chorus.wsgi", OURS_PORT, ours_env))
        servers.append(start("allauth", "bench.allauth_peer.wsgi", PEER_PORT, peer_env))
        load_before = os.getloadavg()[0]
        pages = measure(requests_per_page)
        load_after = os.getloadavg()[0]
    finally:
        for server in servers:
            stop(server)
        with psycopg.connect(admin_url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{PEER_DATABASE}" WITH (FORCE)')
    return {
        "requests_per_page": requests_per_page,
        "workers": WORKERS,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "pages": pages,
    }


def start(name: str, application: str, port: int, env: dict) -> subprocess.Popen:
    """`application` under gunicorn as bin/serve starts the portal, with two sync workers."""
    output = (OUT / f"peer-{name}.log").open("w")
    command = [GUNICORN, application, "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "--timeout", "30"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=output)
    return answering(server, f"http://127.0.0.1:{port}", f"{name}'s gunicorn (its output: {output.name})", seconds=60)


def measure(requests_per_page: int) -> dict:
    """Each page asked of ours and of allauth's, in turn; one visitor (one cookie jar) per side."""
    sides = {
        "ours": (requests.Session(), f"http://127.0.0.1:{OURS_PORT}"),
        "allauth": (requests.Session(), f"http://127.0.0.1:{PEER_PORT}"),
    }
    results = {}
    for page, paths in PAGES.items():
        client = {"ours": [], "allauth": []}
        server = {"ours": [], "allauth": []}
        queries = {"ours": 0, "allauth": 0}
        for n in range(WARM_UP + requests_per_page):
            turn = list(zip(sides.items(), paths, strict=True))
            # Each side goes first every other time: neither always follows the other's request.
            for (side, (session, base)), path in turn if n % 2 == 0 else reversed(turn):
                start = time.perf_counter()
                response = session.get(base + path, allow_redirects=False)
                elapsed = (time.perf_counter() - start) * 1000
                if response.status_code != 200:
                    raise SystemExit(f"{side} {path} answered {response.status_code}")
                if n >= WARM_UP:
                    client[side].append(elapsed)
                    app_ms, _, count = timing(response)
                    server[side].append(app_ms)
                    queries[side] = max(queries[side], count)
        ours, allauth = statistics.median(client["ours"]), statistics.median(client["allauth"])
        results[page] = {
            "ours_path": paths[0],
            "allauth_path": paths[1],
            "ours_ms": round(ours, 2),
            "allauth_ms": round(allauth, 2),
            "ratio": round(ours / allauth, 2),
            "ours_p95_ms": round(percentile(client["ours"], 0.95), 2),
            "allauth_p95_ms": round(percentile(client["allauth"], 0.95), 2),
            # Time inside Django (the Server-Timing header, the same middleware on both sides).
            "ours_server_ms": round(statistics.median(server["ours"]), 2),
            "allauth_server_ms": round(statistics.median(server["allauth"]), 2),
            "ours_queries": queries["ours"],
            "allauth_queries": queries["allauth"],
        }
        log(f"{page}: ours {ours:.2f} ms, allauth {allauth:.2f} ms, ratio {ours / allauth:.2f}")
    for side in ("ours", "allauth"):
        bare = results["bare"][f"{side}_ms"]
        for figures in results.values():
            figures[f"{side}_to_bare"] = round(figures[f"{side}_ms"] / bare, 2)
    return results


def print_table(result: dict) -> None:
    count, workers = result["requests_per_page"], result["workers"]
    print(f"\nClient-side median (p95) in ms, {count} GETs a page a side, {workers} gunicorn workers a side")
    print("(in Django: the median of the Server-Timing header; queries: the most a request made)")
    print(
        f"{'page':8} {'ours':>14} {'allauth':>14} {'ours/allauth':>13} {'ours/bare':>10} {'allauth/bare':>13}"
        f" {'in Django':>12} {'queries':>8}"
    )
    for name, page in result["pages"].items():
        ours = f"{page['ours_ms']} ({page['ours_p95_ms']})"
        allauth = f"{page['allauth_ms']} ({page['allauth_p95_ms']})"
        django = f"{page['ours_server_ms']} / {page['allauth_server_ms']}"
        queries = f"{page['ours_queries']} / {page['allauth_queries']}"
        print(
            f"{name:8} {ours:>14} {allauth:>14} {page['ratio']:>13} {page['ours_to_bare']:>10} "
            f"{page['allauth_to_bare']:>13} {django:>12} {queries:>8}"
        )
    print(f"Load average before and after: {result['load_average']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="GETs of each page on each side (300)")
    arguments = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    database_url = fresh_database(admin_url(), OURS_DATABASE)
    # bench.run's environment, with a mail folder of its own: it empties the folder it is given, which a `make bench`
    # running meanwhile reads.
    env = environment(database_url, "peer", mail_dir=OUT / "peer-mail")
    try:
        log("ours: migrating a fresh database")
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
        result = compare(env, arguments.requests)
    finally:
        with psycopg.connect(admin_url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{OURS_DATABASE}" WITH (FORCE)')
    (OUT / "peer.json").write_text(json.dumps(result, indent=2))
    print_table(result)
    print(f"Written: {OUT / 'peer.json'}")


if __name__ == "__main__":
    main()
