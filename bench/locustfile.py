"""P4: fifty people on the portal at once, as a refund deadline brings them (bench/run.py starts it).

- Farmers already registered (6 in 10) sign in once (the password, then the code mailed to
  them), then browse their space: home, Organisation, Structures, Mes rattachements, Approbations.
- Newcomers (3 in 10), a new person each round, sign up, open the activation link the mail
  worker wrote to a file, choose a password, then ask to join an existing structure.
- Managers (1 in 10) sign in as the benchmark's main manager, whose queue holds 5,000
  requests, read requests and approve them one by one.

Every sign-in passes the second factor as a farmer does: the code is read from the mail the
portal sent and typed on « Double authentification ». Virtual users who share a persona sign in
one after the other: the portal mails no new code while the last one can still be used.

Users think for half a second to two seconds between two pages. Figures count from the moment
all fifty are on the site (bench/run.py passes --reset-stats).
"""

import json
import os
import re
import secrets
import time
from collections import defaultdict
from html import unescape
from pathlib import Path

import psycopg
from gevent.lock import Semaphore
from locust import HttpUser, between, task
from locust.exception import StopUser
from stdnum import luhn

from bench.mailbox import activation_path, sign_in_code

MANIFEST = json.loads(Path(os.environ["BENCH_MANIFEST"]).read_text())
MAIL_DIR = Path(os.environ["BENCH_MAIL_DIR"])
PASSWORD = MANIFEST["password"]
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
CAPTCHA_KEY = re.compile(r'name="captcha_0" value="([^"]+)"')
HIDDEN = re.compile(r'<input type="hidden" name="(device|next)" value="([^"]*)"')
VERIFY = "/compte/double-authentification/"
# One sign-in at a time per persona, from the password to the code: a second one meanwhile would get no mail.
SIGNING_IN = defaultdict(Semaphore)

with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
    FARMERS = [
        email
        for (email,) in connection.execute(
            "SELECT DISTINCT u.email FROM accounts_user u JOIN structures_membership m ON m.user_id = u.id "
            "WHERE u.is_active LIMIT 1000"
        )
    ]
PENDING = list(MANIFEST["pending_request_ids"])


def csrf(response) -> str:
    return CSRF.search(response.text)[1]


def new_siret() -> str:
    siren = f"8{secrets.randbelow(10**7):07d}"
    siren += luhn.calc_check_digit(siren)
    siret = siren + f"{secrets.randbelow(10**4):04d}"
    return siret + luhn.calc_check_digit(siret)


class Portal(HttpUser):
    abstract = True
    wait_time = between(0.5, 2)

    def post_form(self, path: str, data: dict, name: str, page=None):
        page = page or self.client.get(path, name=f"{name} (form)")
        return self.client.post(
            path,
            {"csrfmiddlewaretoken": csrf(page), **data},
            headers={"Referer": self.host + path},
            name=name,
        )

    def sign_in(self, email: str) -> None:
        """« Se connecter », then the code mailed to `email`, then the page it leads to.

        « sign-in » is the password step alone (it hashes), « sign-in code » the code's; a user whose
        sign-in fails stops, rather than time the « Double authentification » page in place of the others.
        """
        with SIGNING_IN[email]:
            page = self.client.get("/compte/connexion/", name="sign-in (form)")
            since = time.time()  # the code to type is mailed after this
            with self.client.post(
                "/compte/connexion/",
                {"csrfmiddlewaretoken": csrf(page), "username": email, "password": PASSWORD},
                headers={"Referer": self.host + "/compte/connexion/"},
                name="sign-in",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                verify = response.headers.get("Location", "")
                if response.status_code != 302 or not verify.startswith(VERIFY):
                    response.failure(f"sign-in refused for {email}")
                    raise StopUser
            form = self.client.get(verify, name="sign-in code (form)")
            code = sign_in_code(MAIL_DIR, email, since)
            if code is None:
                self.report_failure("sign-in code (mail)", f"no sign-in code mailed to {email} within 30 s")
                raise StopUser
            hidden = {name: unescape(value) for name, value in HIDDEN.findall(form.text)}
            with self.client.post(
                form.url.removeprefix(self.host),
                {"csrfmiddlewaretoken": csrf(form), **hidden, "code": code},
                headers={"Referer": form.url},
                name="sign-in code",
                allow_redirects=False,
                catch_response=True,
            ) as response:
                landing = response.headers.get("Location", "")
                if response.status_code != 302 or landing.startswith(VERIFY):
                    response.failure(f"sign-in code refused for {email}")
                    raise StopUser
        self.client.get(landing, name="home")

    def report_failure(self, name: str, reason: str) -> None:
        """A failure that is no request to the portal, counted with the others."""
        self.environment.events.request.fire(
            request_type="MAIL",
            name=name,
            response_time=0,
            response_length=0,
            exception=Exception(reason),
            context={},
        )


class Farmer(Portal):
    weight = 6

    def on_start(self):
        self.sign_in(secrets.choice(FARMERS))

    @task(4)
    def home(self):
        self.client.get("/", name="home")

    @task(2)
    def organisation(self):
        self.client.get("/organisation/", name="Organisation")

    @task(2)
    def structures(self):
        self.client.get("/organisation/structures/", name="Structures")

    @task(2)
    def my_memberships(self):
        self.client.get("/organisation/rattachements/", name="Mes rattachements")

    @task(1)
    def approvals(self):
        self.client.get("/approbations/", name="Approbations")


class Newcomer(Portal):
    """Each round, a new person: sign-up, the activation link from the mail, a password, a request."""

    weight = 3

    @task
    def join(self):
        self.client.cookies.clear()
        email = f"nouveau.{secrets.token_hex(6)}@exemple.fr"
        signup = self.client.get("/compte/inscription/", name="sign-up (form)")
        self.wait()
        self.post_form(
            "/compte/inscription/",
            {
                "email": email,
                "email_confirmation": email,
                "first_name": "Camille",
                "last_name": "Nouveau",
                "phone": "",
                "contact_email": "",
                "accept_terms": "on",
                "identifier_type": "siret",
                "identifier": new_siret(),
                "captcha_0": CAPTCHA_KEY.search(signup.text)[1],
                "captcha_1": "PASSED",
            },
            "sign-up",
            page=signup,
        )
        link = activation_path(MAIL_DIR, email)
        if link is None:
            return
        form = self.client.get(link, name="activation (form)")
        self.wait()
        password = "Tracteur-Bleu-Colza-2031"
        data = {"new_password1": password, "new_password2": password}
        self.post_form(form.url.removeprefix(self.host), data, "activation", page=form)
        self.wait()
        page = self.client.get("/organisation/rattachements/demander/", name="request attachment (form)")
        self.wait()
        data = {"siret": secrets.choice(MANIFEST["sirets"]), "comment": "Salarié de l'exploitation"}
        self.post_form("/organisation/rattachements/demander/", data, "request attachment", page=page)
        self.client.get("/organisation/rattachements/", name="Mes rattachements")


class Manager(Portal):
    weight = 1

    def on_start(self):
        self.sign_in(MANIFEST["manager"])

    @task(3)
    def queue(self):
        self.client.get("/approbations/", name="Approbations")

    @task(2)
    def approve_one(self):
        if not PENDING:
            return
        pk = PENDING.pop()
        page = self.client.get(f"/approbations/{pk}/", name="request detail")
        self.post_form(f"/approbations/{pk}/approuver/", {}, "approve", page=page)
