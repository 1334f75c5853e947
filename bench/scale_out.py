"""R7, scale-out: one PostgreSQL, one Redis, two portal nodes behind HAProxy, and one node killed under load.

Each node is what `bin/serve` runs (gunicorn and its own mail worker) on a loopback port; HAProxy
(bench/haproxy.cfg) spreads the visitors over both. In order:

1. Across nodes, each node addressed directly: a session opened on node 1 is used on node 2;
   failed sign-ins spread over both lock the account; a throttle counts the attempts made on both.
2. The locust load of bench/locustfile.py goes through HAProxy (bench/scale_out_locust.py journals
   what each visitor was told); half-way, node 1 is killed (SIGKILL to its process group: gunicorn,
   its workers and its mail worker), and the load goes on against node 2 alone.
3. Afterwards: the errors, and those that were not requests in flight on node 1 when it died
   (HAProxy's log says which node served each request and when); every write step the visitors
   were told succeeded is looked up in the database; the mails the file backend wrote are counted
   by Message-ID (sent twice?) and against the queue (sent at all?); node 2's mail worker, which
   waited on the advisory lock, must have taken over.

`python -m bench.scale_out --database chorus_bench_nodes --seed` seeds a database of its own and runs it;
without --seed, it runs on a database that `python -m bench.run --keep` left (its manifest: --manifest).
The figures land in var/bench/nodes/results.json.
"""

import argparse
import contextlib
import csv
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from string import Template

import psutil
import psycopg
import requests

from bench import mailbox, run

NODES_DIR = run.OUT / "nodes"
BALANCER_PORT = int(os.environ.get("BENCH_BALANCER_PORT", "8770"))
NODE_PORTS = (8771, 8772)
BALANCER = f"http://127.0.0.1:{BALANCER_PORT}"
USERS = 50
# The limit of « Mot de passe oublié » while the nodes run: the throttle check reaches it over both nodes,
# and the load never uses that page.
RESET_LIMIT = 4
# chorus/management/commands/mail_worker.py's ADVISORY_LOCK_KEY, as pg_locks shows it (its low 32 bits).
MAIL_WORKER_LOCK = 0x6D61696C
SENT = 0  # post_office's STATUS.sent; queued is 2, requeued 3


def scale_out(env: dict, manifest_path: Path, seconds: int) -> dict:
    """Runs the two-node topology against the database of `env` (seeded; `manifest_path` names its personas)."""
    haproxy()
    shutil.rmtree(NODES_DIR / "mail", ignore_errors=True)
    (NODES_DIR / "mail").mkdir(parents=True)
    env = {
        **env,
        "SITE_URL": BALANCER,
        "CSRF_TRUSTED_ORIGINS": BALANCER,
        # HAProxy appends the visitor's address to X-Forwarded-For: the nodes trust that one hop.
        "TRUSTED_PROXY_COUNT": "1",
        "BENCH_MAIL_DIR": str(NODES_DIR / "mail"),
        "THROTTLE_RESET_PER_HOUR": str(RESET_LIMIT),
        "PYTHONUNBUFFERED": "1",  # the mail workers' lines reach their logs as they happen
    }
    manifest = json.loads(Path(manifest_path).read_text())
    run.flush_cache(env)
    started = time.time()
    first_email_id = scalar(env, "SELECT coalesce(max(id), 0) FROM post_office_email")
    nodes, balancer = [], None
    try:
        for number in (1, 2):
            nodes.append(start_node(env, number))
        balancer = start_balancer()
        waiting = wait_for_line(NODES_DIR / "node2.log", "Another mail worker is running", timeout=30)
        checks = across_nodes(env, manifest)
        load = load_and_kill(env, manifest_path, seconds, nodes)
        load["mail_worker"]["node2_waited_for_the_lock_at_start"] = waiting
        drained = drain_mail(env, first_email_id, timeout=90)
        stats = balancer_stats()
    finally:  # the balancer first: stopping node 2 under it would fill its log with requests nobody made
        if balancer is not None:
            balancer.terminate()
            balancer.wait(timeout=10)
        for node in nodes:
            if node.poll() is None:
                run.stop(node)
    journal = [json.loads(line) for line in (NODES_DIR / "journal.jsonl").read_text().splitlines()]
    # The requests of the load: the visitors that locust stops at the end leave theirs behind.
    requests_log = [line for line in balancer_log() if line["accepted"] <= load["ended_at"]]
    errors = errors_of(journal, requests_log, load["killed_at"], load["refused_at"])
    mails = mail_count(env, first_email_id)
    writes = lost_writes(env, journal)
    return {
        "nodes": 2,
        "requests": len(requests_log),
        "requests_per_node": dict(Counter(line["node"] for line in requests_log)),
        "errors": errors["errors"],
        "errors_outside_the_killed_node": errors["outside"],
        "lost_writes": writes["lost"],
        "duplicate_mails": mails["duplicate_mails"],
        "lost_mails": mails["lost_mails"],
        "sessions_across_nodes": checks["sessions"]["held"],
        "lockouts_across_nodes": checks["lockouts"]["held"],
        "throttles_across_nodes": checks["throttles"]["held"],
        "across_nodes": checks,
        "writes": writes,
        "error_detail": errors,
        "mail": {**mails, "queue_drained": drained},
        "load": load,
        "balancer_stats": stats,
        "seconds_in_all": round(time.time() - started, 1),
    }


# The topology ---------------------------------------------------------------------------------


def haproxy() -> str:
    if (path := shutil.which("haproxy")) is None:
        raise SystemExit("haproxy is not installed: `make bench` installs it (apt-get install -y haproxy)")
    return path


def start_node(env: dict, number: int) -> subprocess.Popen:
    """`bin/serve` on the node's port, in a process group of its own: killing the group kills the whole node.

    Node 1 migrates and collects the static files; node 2, started once node 1 answers, finds nothing to do.
    """
    port = NODE_PORTS[number - 1]
    env = {**env, "BIND": f"127.0.0.1:{port}", "ACCESS_LOG": str(NODES_DIR / f"access-node{number}.log")}
    output = (NODES_DIR / f"node{number}.log").open("w")
    run.log(f"node {number}: bin/serve on port {port} (its output: {output.name})")
    node = subprocess.Popen(
        [str(run.ROOT / "bin" / "serve")], cwd=run.ROOT, env=env, start_new_session=True, stdout=output, stderr=output
    )
    return run.answering(node, f"http://127.0.0.1:{port}", f"node {number} (its output: {output.name})", seconds=180)


def start_balancer() -> subprocess.Popen:
    servers = "\n".join(f"    server node{n} 127.0.0.1:{port}" for n, port in enumerate(NODE_PORTS, 1))
    config = Template((run.ROOT / "bench" / "haproxy.cfg").read_text()).substitute(
        port=BALANCER_PORT, stats_socket=NODES_DIR / "haproxy.sock", servers=servers
    )
    (NODES_DIR / "haproxy.cfg").write_text(config)
    subprocess.run([haproxy(), "-c", "-q", "-f", str(NODES_DIR / "haproxy.cfg")], check=True)
    log = (NODES_DIR / "haproxy.log").open("w")
    balancer = subprocess.Popen([haproxy(), "-db", "-f", str(NODES_DIR / "haproxy.cfg")], stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{BALANCER}/banc-d-essai/", timeout=10).status_code == 200:
                up = [row for row in balancer_stats()["servers"].values() if row["status"] == "UP"]
                if len(up) == 2:
                    run.log(f"HAProxy on port {BALANCER_PORT}, both nodes up")
                    return balancer
        time.sleep(0.3)
    balancer.terminate()
    raise SystemExit("HAProxy did not see both nodes up within 30 s")


def balancer_stats() -> dict:
    """HAProxy's counters per node (`show stat` on its socket): responses by class, retries, redispatches, state."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.connect(str(NODES_DIR / "haproxy.sock"))
        connection.sendall(b"show stat\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    rows = csv.DictReader(io.StringIO(answer.decode().lstrip("# ")))
    servers = {}
    for row in rows:
        if row["pxname"] == "nodes" and row["svname"].startswith("node"):
            servers[row["svname"]] = {
                "status": row["status"],
                "requests": int(row["stot"] or 0),
                **{f"http_{n}xx": int(row[f"hrsp_{n}xx"] or 0) for n in (2, 3, 4, 5)},
                "connection_errors": int(row["econ"] or 0),
                "response_errors": int(row["eresp"] or 0),
                "retries": int(row["wretr"] or 0),
                "redispatches": int(row["wredis"] or 0),
            }
    return {"servers": servers}


def balancer_log() -> list[dict]:
    """HAProxy's lines, one a request (bench/haproxy.cfg's log-format)."""
    lines = []
    for text in (NODES_DIR / "haproxy.log").read_text().splitlines():
        parts = text.split(" ")
        if len(parts) != 12 or not parts[0].replace(".", "").isdigit() or parts[-1] == "<BADREQ>":
            continue  # HAProxy's own notices (a server going down, …), or a connection closed before any request
        accepted, node, status, termination, tr, tw, tc, _response, ta, retries, method, path = parts
        lines.append(
            {
                "accepted": float(accepted),
                "node": node,
                "status": int(status),
                "termination": termination,
                # When the request left for the node, and when the answer (or the failure) came back.
                "sent": float(accepted) + sum(max(0, int(t)) for t in (tr, tw, tc)) / 1000,
                "ended": float(accepted) + int(ta) / 1000,
                "retries": int(retries.lstrip("+")),
                "method": method,
                "path": path,
            }
        )
    return lines


def wait_for_line(path: Path, text: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text():
            return True
        time.sleep(0.3)
    return False


def scalar(env: dict, sql: str, params: tuple = ()):
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        return connection.execute(sql, params).fetchone()[0]


# Across nodes ---------------------------------------------------------------------------------


def node_url(number: int) -> str:
    return f"http://127.0.0.1:{NODE_PORTS[number - 1]}"


def across_nodes(env: dict, manifest: dict) -> dict:
    """Sessions, lockouts and throttles, each written through one node and read through the other."""
    # Two activated members that the load's farmers (the first thousand found) are unlikely to be, and that no
    # other check uses: the newest farmers of the seed, whose second factor is the mailed code. Seeded accounts only
    # (the seed's ids come first): the load's newcomers have passwords of their own.
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        session_user, lockout_user = [
            email
            for (email,) in connection.execute(
                "SELECT u.email FROM accounts_user u WHERE u.is_active AND NOT u.is_staff AND u.id <= %s "
                "AND EXISTS (SELECT 1 FROM structures_membership m WHERE m.user_id = u.id) "
                "AND NOT EXISTS (SELECT 1 FROM otp_totp_totpdevice t WHERE t.user_id = u.id) "
                "AND NOT EXISTS (SELECT 1 FROM django_otp_webauthn_webauthncredential k WHERE k.user_id = u.id) "
                "ORDER BY u.id DESC LIMIT 2",
                [manifest["counts"]["accounts_user"]],
            )
        ]
    results = {
        "sessions": session_check(Path(env["BENCH_MAIL_DIR"]), session_user, manifest["password"]),
        "lockouts": lockout_check(lockout_user, manifest["password"], int(env.get("AXES_FAILURE_LIMIT", "5"))),
        "throttles": throttle_check(),
    }
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:  # leave no lockout behind
        connection.execute("DELETE FROM axes_accessattempt WHERE username = %s", [lockout_user])
        connection.execute("DELETE FROM axes_accessfailurelog WHERE username = %s", [lockout_user])
    run.flush_cache(env)
    for name, result in results.items():
        run.log(f"across nodes, {name}: {'held' if result['held'] else 'NOT HELD'}")
    return results


def session_check(mail_dir: Path, email: str, password: str) -> dict:
    """Both sign-in steps on node 1 (the password, then the mailed code), then a signed-in page on node 2."""
    session = requests.Session()
    page = session.get(f"{node_url(1)}/compte/connexion/")
    since = time.time()
    password_step = session.post(
        f"{node_url(1)}/compte/connexion/",
        {"csrfmiddlewaretoken": run.csrf_of(page.text), "username": email, "password": password},
        allow_redirects=False,
    )
    verify = password_step.headers.get("Location", "")
    form = session.get(node_url(1) + verify)
    code = mailbox.sign_in_code(mail_dir, email, since)
    code_step = session.post(
        form.url,
        {"csrfmiddlewaretoken": run.csrf_of(form.text), **run.hidden_fields(form.text), "code": code or ""},
        allow_redirects=False,
    )
    signed_in_on_node1 = code_step.status_code == 302 and not code_step.headers["Location"].startswith(run.VERIFY)
    on_node2 = session.get(f"{node_url(2)}/organisation/", allow_redirects=False)
    return {
        "held": signed_in_on_node1 and on_node2.status_code == 200,
        "signed_in_on": "node1",
        "node2_answer": on_node2.status_code,
        "node2_redirected_to": on_node2.headers.get("Location"),
    }


def lockout_check(email: str, password: str, limit: int) -> dict:
    """`limit` wrong passwords, on node 1 and node 2 in turn; then the right one, on each node, is refused."""

    def answer(node: int, typed: str) -> int:
        """The password step's answer on `node`, from a browser of its own."""
        session = requests.Session()
        page = session.get(f"{node_url(node)}/compte/connexion/")
        response = session.post(
            f"{node_url(node)}/compte/connexion/",
            {"csrfmiddlewaretoken": run.csrf_of(page.text), "username": email, "password": typed},
            allow_redirects=False,
        )
        return response.status_code

    answers = [(1 + attempt % 2, answer(1 + attempt % 2, password + "-faux")) for attempt in range(limit)]
    right = {f"node{node}": answer(node, password) for node in (1, 2)}
    per_node = Counter(node for node, _ in answers)
    return {
        # Neither node saw `limit` failures by itself: only a shared count locks the account.
        "held": max(per_node.values()) < limit and all(status == 429 for status in right.values()),
        "failure_limit": limit,
        "failures_per_node": {f"node{node}": count for node, count in sorted(per_node.items())},
        "wrong_password_answers": [status for _, status in answers],
        "right_password_answers": right,
    }


def throttle_check() -> dict:
    """« Mot de passe oublié » (RESET_LIMIT an hour per address), asked on node 1 and node 2 in turn."""
    answers = []
    for attempt in range(RESET_LIMIT + 1):
        node = 1 + attempt % 2
        session = requests.Session()
        page = session.get(f"{node_url(node)}/compte/mot-de-passe-oublie/")
        response = session.post(
            f"{node_url(node)}/compte/mot-de-passe-oublie/",
            {"csrfmiddlewaretoken": run.csrf_of(page.text), "email": f"inconnu.{attempt}@exemple.fr"},
            allow_redirects=False,
        )
        answers.append({"node": f"node{node}", "accepted": response.status_code == 302})
    accepted = [answer["accepted"] for answer in answers]
    return {
        "held": accepted == [True] * RESET_LIMIT + [False],
        "limit_per_hour": RESET_LIMIT,
        "answers": answers,
    }


# The load, and the kill ---------------------------------------------------------------------------------


def load_and_kill(env: dict, manifest_path: Path, seconds: int, nodes: list[subprocess.Popen]) -> dict:
    journal = NODES_DIR / "journal.jsonl"
    journal.unlink(missing_ok=True)
    prefix = NODES_DIR / "locust"
    command = [
        str(Path(run.PY).parent / "locust"),
        *("-f", str(run.ROOT / "bench" / "scale_out_locust.py")),
        "--headless",
        *("--users", str(USERS), "--spawn-rate", "10", "--run-time", f"{seconds}s"),
        *("--host", BALANCER, "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"),
    ]
    locust_env = {**env, "BENCH_MANIFEST": str(manifest_path), "SCALE_OUT_JOURNAL": str(journal)}
    run.log(f"locust, {USERS} users, {seconds} s, through HAProxy; node 1 is killed after {seconds // 2} s")
    locust = subprocess.Popen(command, cwd=run.ROOT, env=locust_env)
    time.sleep(seconds // 2)
    holder_before = lock_holder(env)
    node1 = psutil.Process(nodes[0].pid)
    processes = [node1, *node1.children(recursive=True)]
    killed_at = time.time()
    os.killpg(nodes[0].pid, signal.SIGKILL)
    refused_at = port_refused_at(NODE_PORTS[0])
    run.log(f"node 1 killed; its port refused connections {refused_at - killed_at:.3f} s later")
    nodes[0].wait()
    takeover = None
    while locust.poll() is None and takeover is None:
        holder = lock_holder(env)
        if holder and holder["backend"] != (holder_before or {}).get("backend"):
            takeover = {**holder, "seconds_after_the_kill": round(time.time() - killed_at, 2)}
        time.sleep(0.1)
    node2_worker = [
        p.pid for p in psutil.Process(nodes[1].pid).children(recursive=True) if "mail_worker" in p.cmdline()
    ]
    locust.wait()
    ended_at = time.time()
    _, survivors = psutil.wait_procs(processes, timeout=10)
    total = next(row for row in run.csv_rows(prefix.with_name("locust_stats.csv")) if row["Name"] == "Aggregated")
    # Exceptions in the visitors' own code (a page without the form it expected): each follows a failed request.
    exceptions = sum(int(row["Count"]) for row in run.csv_rows(prefix.with_name("locust_exceptions.csv")))
    return {
        "users": USERS,
        "seconds": seconds,
        "killed_at": killed_at,
        # Until its last process is gone, a node's port still takes connections (into its backlog, never read).
        "port_refused_after_seconds": round(refused_at - killed_at, 3),
        "refused_at": refused_at,
        "killed_after_seconds": seconds // 2,
        "ended_at": ended_at,
        "killed_processes": len(processes),
        "surviving_processes": len(survivors),
        "locust_requests": int(total["Request Count"]),
        "locust_failures": int(total["Failure Count"]),
        "locust_task_exceptions": exceptions,
        "requests_per_second": round(float(total["Requests/s"]), 2),
        "p95_ms": float(total["95%"]),
        "mail_worker": {
            "lock_holder_before_the_kill": holder_before,
            "lock_holder_after_the_kill": takeover,
            "taken_over_by_node2": bool(takeover and takeover.get("client_pid") in node2_worker),
        },
    }


def port_refused_at(port: int) -> float:
    """When the port first refused a connection."""
    while True:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            try:
                probe.connect(("127.0.0.1", port))
            except ConnectionRefusedError:
                return time.time()
            except OSError:
                pass
        time.sleep(0.005)


def lock_holder(env: dict) -> dict | None:
    """The PostgreSQL backend holding the mail worker's advisory lock, and the local process on its other end."""
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        row = connection.execute(
            "SELECT l.pid, a.client_port FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.objid = %s AND l.granted",
            [MAIL_WORKER_LOCK],
        ).fetchone()
    if row is None:
        return None
    backend, port = row
    client = None
    with contextlib.suppress(psutil.Error):
        for connection in psutil.net_connections("tcp"):
            if connection.laddr and connection.laddr.port == port and connection.pid:
                client = connection.pid
    return {"backend": backend, "client_pid": client}


# Afterwards ---------------------------------------------------------------------------------


def drain_mail(env: dict, first_email_id: int, timeout: float) -> bool:
    """Waits for node 2's mail worker to send what the load queued."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = scalar(
            env, "SELECT count(*) FROM post_office_email WHERE id > %s AND status IN (2, 3)", (first_email_id,)
        )
        if left == 0:
            return True
        time.sleep(1)
    return False


def mail_count(env: dict, first_email_id: int) -> dict:
    """The mails the file backend wrote, by Message-ID, against the mails the portal queued."""
    written = Counter()
    for path in (NODES_DIR / "mail").iterdir():
        for message in mailbox.messages(path):
            written[str(message["Message-ID"]).strip()] += 1
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:
        queued = dict(
            connection.execute(
                "SELECT message_id, status FROM post_office_email WHERE id > %s", [first_email_id]
            ).fetchall()
        )
    duplicates = {message_id: count for message_id, count in written.items() if count > 1}
    return {
        "queued": len(queued),
        "written": sum(written.values()),
        "duplicate_mails": sum(count - 1 for count in duplicates.values()),
        "duplicated_message_ids": sorted(duplicates)[:20],
        # Queued by the portal and never written, or marked sent and not in the folder.
        "lost_mails": sum(1 for message_id in queued if message_id not in written),
        "not_marked_sent": sum(1 for status in queued.values() if status != SENT),
    }


def errors_of(journal: list[dict], requests_log: list[dict], killed_at: float, refused_at: float) -> dict:
    """The failures the visitors saw, and those that were no request in flight on node 1 when it died.

    In flight: HAProxy had sent it to node 1 before node 1's port refused connections (from the SIGKILL
    until its last process is gone, the kernel still accepts connections for it), and its answer had not
    come back at the kill. Each such request that ended in an error is one failure a visitor saw.
    """
    failures = [line for line in journal if line["failed"]]
    in_flight = [
        line
        for line in requests_log
        if line["node"] == "node1" and line["sent"] <= refused_at + 0.05 and line["ended"] >= killed_at - 0.05
    ]
    in_flight_errors = [line for line in in_flight if server_failed(line)]
    # The visitors' side of the same requests: the failures that span the node's death (a 502, or an answer cut
    # short when the node died in the middle of sending it, which HAProxy can no longer replace).
    spanning = [line for line in failures if line["start"] <= refused_at + 0.05 and line["end"] >= killed_at - 0.05]
    attributed = min(len(in_flight_errors), len(spanning))
    outside = [line for line in failures if line not in spanning[:attributed]]
    replayed = [line for line in requests_log if line["retries"] > 0 and line["ended"] >= killed_at - 0.05]
    return {
        "errors": len(failures),
        "outside": len(outside),
        "in_flight_on_node1_at_the_kill": len(in_flight),
        "in_flight_errors": [
            {
                "method": line["method"],
                "path": line["path"],
                "status": line["status"],
                "termination": line["termination"],
            }
            for line in in_flight_errors
        ],
        "replayed_or_redispatched_after_the_kill": len(replayed),
        "outside_detail": Counter(f"{line['name']}: {line.get('error', '')[:80]}" for line in outside).most_common(10),
        "signed_out_pages": sum(1 for line in journal if line.get("signed_out")),
        "balancer_errors": sum(1 for line in requests_log if server_failed(line)),
    }


def server_failed(line: dict) -> bool:
    """An error answer, or a node that closed the connection before the end of its answer (termination « S… »)."""
    return line["status"] >= 500 or line["status"] < 0 or line["termination"].startswith("S")


def lost_writes(env: dict, journal: list[dict]) -> dict:
    """Every write step a visitor was told succeeded, looked up in the database.

    A newcomer's steps are put together by visitor: its activation and its request belong to the address of
    its latest sign-up.
    """
    told = {"sign-up": [], "activation": [], "request attachment": [], "approve": []}
    address = {}
    for line in sorted(journal, key=lambda line: line["start"]):
        if line["name"] == "sign-up":
            address[line["visitor"]] = line.get("email")
        if line.get("told_success"):
            told[line["name"]].append({**line, "email": address.get(line["visitor"])})
    missing = Counter()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as connection:

        def exists(sql: str, *params) -> bool:
            return connection.execute(f"SELECT EXISTS ({sql})", params).fetchone()[0]

        for line in told["sign-up"]:
            missing["sign-up"] += not exists("SELECT 1 FROM accounts_user WHERE email = %s", line["email"])
        for line in told["activation"]:
            missing["activation"] += not exists(
                "SELECT 1 FROM accounts_user WHERE email = %s AND is_active AND password NOT LIKE '!%%'", line["email"]
            )
        for line in told["request attachment"]:
            missing["request attachment"] += not exists(
                "SELECT 1 FROM approvals_approvalrequest r JOIN accounts_user u ON u.id = r.requester_id "
                "JOIN structures_structure s ON s.id = r.structure_id WHERE u.email = %s AND s.siret = %s",
                line["email"],
                line["siret"],
            )
        for line in told["approve"]:
            pk = int(line["path"].strip("/").split("/")[1])
            missing["approve"] += not exists(
                "SELECT 1 FROM approvals_approvalrequest WHERE id = %s AND state = 'approved'", pk
            )
    return {
        "lost": sum(missing.values()),
        "told_success": {name: len(lines) for name, lines in told.items()},
        "missing": {name: count for name, count in missing.items() if count},
    }


# Standalone ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="chorus_bench_nodes")
    parser.add_argument("--seed", action="store_true", help="create the database afresh and seed it (small scale)")
    parser.add_argument(
        "--manifest", type=Path, help="the seed's manifest (default: the one --seed or bench.run wrote)"
    )
    parser.add_argument("--seconds", type=int, default=60, help="the load's length; node 1 dies half-way")
    arguments = parser.parse_args()
    NODES_DIR.mkdir(parents=True, exist_ok=True)
    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if arguments.seed:
        database_url = run.fresh_database(admin_url, arguments.database)
    else:
        database_url = run.database_at(admin_url, arguments.database)
    # bench.run's environment, with this run's own mail folder (it empties the folder it is given) and Redis base.
    env = run.environment(database_url, "small", mail_dir=NODES_DIR / "mail")
    env["CACHE_URL"] = os.environ.get("BENCH_NODES_CACHE_URL", "redis://127.0.0.1:6379/12")
    manifest_path = arguments.manifest or (NODES_DIR / "seed.json" if arguments.seed else run.OUT / "seed.json")
    if arguments.seed:
        run.manage(env, "migrate", "--noinput", "--verbosity", "0")
        scale = run.SCALES["small"]
        run.manage(
            env,
            "seed_scale",
            *("--structures", str(scale["structures"]), "--users", str(scale["users"])),
            *("--pending", str(scale["pending"]), "--manifest", str(manifest_path)),
        )
    results = scale_out(env, manifest_path, arguments.seconds)
    (NODES_DIR / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    summary = {key: results[key] for key in list(results)[:11]}
    print(json.dumps({**summary, "writes_told_success": results["writes"]["told_success"]}, indent=2))
    print(f"Written: {NODES_DIR / 'results.json'}")


if __name__ == "__main__":
    sys.exit(main())
