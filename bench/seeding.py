"""Farm-country data at scale for the benchmark: users, structures, memberships, bank details, requests,
refund requests and their instruction.

`manage.py seed_scale` (the `bench` app's command) plans everything in memory (a few integers
per row), then streams the rows of each table: PostgreSQL's COPY, else batched INSERTs. Rows
carry explicit primary keys; the sequences are reset afterwards. Every model constraint holds
(see the models' `Meta.constraints`):

- one main manager per structure, an activated user; (user, structure) unique;
- one live request per requester and structure; closed requests dated, refusals reasoned;
- one default bank account per structure, IBAN and label unique per structure;
- PACAGE nine digits, empty for management centres, which have no category either;
- one refund request per structure and campaign, numbered once sent, an invoice number once per request.

Refund requests (`RefundPlan`): each farm files for each of the latest campaigns open at some moment since it
registered, filed within the campaign's window; most accounts (`EARLY`), and so most farms, registered in the half-year
before the oldest of those campaigns opened, when filing online became the rule, the others any day since, so that a
farm files about four requests; the lines' rates are those the database holds for the year
(refunds migration 0002) and their amounts are computed as the portal computes them (`Product.amount`, to the
cent, half up), the totals being the sums of the rounded lines. Older campaigns are mostly paid, the current
one in every status; each status comes with the events it implies, in date order, the payment batches that
paid them, and the « Première demande » flag. The lines' history (django-simple-history) is left empty, as
the other history tables are: it records changes made on the portal.

The values come from libraries: python-stdnum computes the SIREN and SIRET keys and the VAT
numbers, schwifty the IBANs (RIB key included) and their banks' BICs, and Faker's fr_FR locale
the names, streets and communes, drawn once into pools that the rows pick from (a Faker call
per row would cost minutes at a million users). Every bank account points at one real PDF,
bench/data/rib-fictif.pdf, which the portal's own `clean_upload` checks and rewrites before it is stored.

Only the seed decides (`random.Random` for the plan and the rows, `Faker.seed_instance` for
the pools): the same seed gives the same rows, with dates counted back from the moment of the run.
"""

from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from random import Random

from django.core.files import File
from django.db import connection
from django.utils.text import slugify
from faker import Faker
from faker.providers.address.fr_FR import Provider as FrenchAddresses
from schwifty import BIC, IBAN
from stdnum import luhn

from approvals.models import ApprovalRequest
from chorus.templatetags.ui import euros
from chorus.uploads import clean_upload
from refunds.models import CENT, RefundRequest, round_to_cent
from structures import departements
from structures.models import Membership, Structure
from structures.validators import vat_number_for

DAY = 86_400
YEAR = 365 * DAY

BENCH_MANAGER = "bench.gestionnaire@exemple.fr"
BENCH_MEMBER = "bench.utilisateur@exemple.fr"
BENCH_STRUCTURE = "EARL Banc d'Essai"
BENCH_DEPARTEMENT = "26"  # the Drôme
DEFAULT_PASSWORD = "Moisson-Bench-2031!"
RIB_FIXTURE = Path(__file__).resolve().parent / "data" / "rib-fictif.pdf"
RIB_PLACEHOLDER = "seed/rib-fictif.pdf"  # its name in the RIB storage

# Shares of the population (the brief's figures).
UNACTIVATED = 0.05  # signed up, never activated: no usable password
SECOND_FARM = 0.03  # structures whose main manager already runs another one
CENTRES = 0.005  # agricultural management centres
WITH_EXTRAS = 0.20  # structures with 1–3 more users or managers
INCOMPLETE = 0.05  # structures whose category and PACAGE are not filled in yet
WITH_BANK_ACCOUNT = 0.70
SECOND_BANK_ACCOUNT = 0.10  # of those with one
REFUSED = 0.05  # refused requests, per structure
WITHDRAWN = 0.01

# Refund requests (REFUNDS.md): one per farm and campaign open since it registered, about ten lines each.
REFUND_CAMPAIGNS = 4  # the latest campaigns already open
# Filing online became the rule with the oldest of those campaigns: most farms registered in the half-year before it
# opened, the others since, so that four years of requests are about four per farm.
RUN_UP = 180 * DAY  # the portal opened this long before the oldest campaign
EARLY = 0.95  # of the activated accounts, those registered in the run-up
BENCH_DEPARTEMENT_REQUESTS = 5_000  # in the Drôme, its instructor's queue
BENCH_PAYABLE = 1_200  # accepted requests of the Drôme not yet in payment: a batch of 1,000 transfers and more
BENCH_LINES = 50  # the lines of each of the bench farm's requests
BENCH_INSTRUCTOR = "bench.instructeur@exemple.fr"
# The instructor's authentication application's secret (RFC 6238's test key, hex): the bench computes its codes.
BENCH_TOTP_KEY = "3132333435363738393031323334353637383930"
INVOICE_PLACEHOLDER = "seed/facture-fictive.pdf"  # its name in the invoices' storage
DRAFT_WITHOUT_INVOICE = 0.15  # lines of drafts whose invoice is not attached yet
PARTLY = 0.12  # of the requests granted and paid, those reduced on a line

Category = Structure.BeneficiaryCategory
TaxRegime = Structure.TaxRegime

# fmt: off
# Farms by kind, weighted; the name and the rest of the fields follow the kind.
CATEGORIES = [
    (Category.INDIVIDUAL_FARMER, 40), (Category.FARMING_COMPANY, 40), (Category.CUMA, 4), (Category.ETARF, 5),
    (Category.FARMERS_GIE, 1), (Category.OTHER_LEGAL_ENTITY, 5), (Category.AQUACULTURE, 2),
]
COMPANY_FORMS = ["GAEC"] * 6 + ["EARL"] * 8 + ["SCEA"] * 5 + ["SAS"]
TAX_REGIMES = [
    *[TaxRegime.VAT_ON_RECEIPTS] * 4, *[TaxRegime.VAT_ON_DEBITS] * 2, *[TaxRegime.NOT_LIABLE] * 2,
    TaxRegime.VAT_EXEMPT, "",
]
VAT_LIABLE = {TaxRegime.VAT_ON_RECEIPTS, TaxRegime.VAT_ON_DEBITS}
COMMENTS = [
    "", "", "", "", "",
    "Je suis associé du GAEC depuis cette année.",
    "Comptable du centre de gestion, mandaté pour la demande de remboursement.",
    "Je reprends l'exploitation de mes parents.",
    "Salarié de l'exploitation, en charge des déclarations.",
    "Conjoint collaborateur.",
]
REFUSAL_REASONS = [
    "Nous ne connaissons pas cette personne.",
    "Cette personne ne travaille plus sur l'exploitation.",
    "Demande en double : cette personne est déjà rattachée avec une autre adresse.",
    "Le centre de gestion n'a pas de mandat pour cette structure.",
    "Merci de refaire la demande avec votre adresse professionnelle.",
]
# Banks by code (schwifty's registry knows each one's BIC), Crédit Agricole's regional banks
# first (weight 3): farm country banks there.
BANK_CODES = [
    *[(code, 3) for code in (
        "16606", "18206", "12506", "16806", "18706", "11006", "13106", "17206", "13306", "14706", "16006",
        "12906", "17806", "19406", "11706", "12406", "16106", "11206", "13906", "14406", "17106", "18106",
        "10206", "19106", "11306", "12206", "13506", "16906", "17906", "18306", "19506", "14506",
    )],
    ("10278", 6), ("15589", 4), ("30004", 4), ("30003", 3), ("30002", 3), ("20041", 4),
    ("13335", 2), ("14445", 2), ("13825", 2), ("10907", 2), ("13507", 2), ("14707", 2), ("30066", 2),
]
# Landline areas (01–05) of the metropolitan départements; overseas ones get no landline.
PHONE_AREAS = {
    "1": "77 78 91 95",
    "2": "14 18 22 27 28 29 35 36 37 41 44 45 49 50 53 56 61 72 76 85",
    "3": "02 08 10 21 25 39 51 52 54 55 57 58 59 60 62 67 68 70 71 80 88 89 90",
    "4": "01 03 04 05 06 07 11 13 15 26 2A 2B 30 34 38 42 43 48 63 66 69 73 74 83 84",
    "5": "09 12 16 17 19 23 24 31 32 33 40 46 47 64 65 79 81 82 86 87",
}
# Paris and its inner suburbs: hardly any farms.
NO_FARMS = {"75", "92", "93", "94"}
# Prefixes libphonenumber accepts whatever follows: mobiles (06 x, 07 3–9); landlines take 0A + one of 1234578
# (026x and 059x are partly unallocated or overseas).
MOBILE_PREFIXES = ["60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78", "79"]
# Statuses of the requests by campaign, weighted: the older ones are settled, the current one in full swing.
SETTLED_STATUSES = [
    ("paid", 87), ("rejected", 5), ("accepted", 2), ("partly_accepted", 1), ("in_payment", 1), ("in_review", 1),
    ("draft", 3),
]
CURRENT_STATUSES = [
    ("draft", 14), ("filed", 22), ("in_review", 16), ("information_requested", 5), ("accepted", 9),
    ("partly_accepted", 3), ("rejected", 3), ("in_payment", 10), ("paid", 18),
]
# Products of the lines, weighted (the products' codes): farms run on gazole non routier.
LINE_PRODUCTS = [
    ("gnr", 80), ("gaz-naturel-combustible", 8), ("gpl", 6), ("fioul-lourd", 3), ("gaz-naturel-carburant", 3),
]
# What an invoice's quantity may be, in cents of its unit.
QUANTITIES = {
    "gnr": (30_000, 900_000), "fioul-lourd": (50_000, 2_000_000), "gpl": (20_000, 600_000),
    "gaz-naturel-combustible": (200, 15_000), "gaz-naturel-carburant": (100, 4_000),
}
SUPPLIERS = [
    ("Agri Carburants du Sud-Est", "ACS"), ("Coopérative agricole Terre d'Alliance", "TDA"),
    ("TotalEnergies Marketing France", "TEMF"),
    ("Bolloré Énergie", "BE"), ("Charvet La Mure Bianco", "CLMB"), ("Primagaz", "PGZ"), ("Butagaz", "BTZ"),
    ("Antargaz", "ANT"), ("Engie", "ENG"), ("Thevenin Ducrot Distribution", "TDD"), ("Picoty", "PIC"),
    ("Dyneff", "DYN"), ("Siplec", "SIP"), ("Coopérative Dauphinoise", "CODA"),
]
REFUND_MESSAGES = {
    "information_requested": [
        "La facture de la ligne {number} est illisible : merci de joindre une copie nette.",
        "Merci de joindre le bon de livraison de la facture {number}.",
    ],
    "rejected": [
        "Les factures transmises ne concernent pas des travaux agricoles.",
        "La structure n'exerçait pas d'activité agricole pendant l'année de la demande.",
    ],
    "reduction": "Quantité retenue d'après le bon de livraison.",
}
# fmt: on
AREA_OF = {code: area for area, codes in PHONE_AREAS.items() for code in codes.split()}


@dataclass(frozen=True)
class Departement:
    code: str  # Faker's: "26", "2A", "974"
    name: str
    pacage: str  # the three digits its PACAGE numbers start with: 026, 020 for Corsica, 974
    phone_area: str  # "" overseas: no landline given
    communes: list[tuple[str, str]]  # (postal code, commune)


class Pools:
    """Names, streets and communes, drawn once from Faker's fr_FR locale; the rows pick from them.

    Each name comes with its ASCII slug (« Le Goff » → « legoff ») for e-mail addresses.
    """

    def __init__(self, seed: int, communes_per_departement: int = 3):
        fake = Faker("fr_FR")
        fake.seed_instance(seed)
        self.first_names = with_slugs(distinct(fake.first_name, 3000))
        self.last_names = with_slugs(distinct(fake.last_name, 3000))
        self.streets = distinct(fake.street_address, 5000)
        self.departements = []
        for code, name in FrenchAddresses.departments:
            if code in NO_FARMS:
                continue
            postal_prefix = "20" if code in ("2A", "2B") else code
            digits = "%#0" if len(postal_prefix) == 2 else "%0"  # five in all; none starts with 00
            communes = [(postal_prefix + fake.numerify(digits), fake.city()) for _ in range(communes_per_departement)]
            overseas = len(code) == 3
            if not overseas and code not in AREA_OF:
                raise ValueError(f"Département {code} ({name}) has no landline area in bench/seeding.py.")
            self.departements.append(Departement(code, name, postal_prefix.zfill(3), AREA_OF.get(code, ""), communes))
        self.bench_departement = next(d for d in self.departements if d.code == BENCH_DEPARTEMENT)


def distinct(draw, times: int) -> list[str]:
    """The different values of `times` draws, in the order they came (a set's order would vary by process)."""
    return list(dict.fromkeys(draw() for _ in range(times)))


def with_slugs(names: list[str]) -> list[tuple[str, str]]:
    return [(name, slugify(name).replace("-", "")) for name in names]


# SIRENs from a counter through a bijection of [10,000,000, 80,000,000): unique,
# scattered, never starting with 8 (the benchmark's newcomers sign up with
# SIRENs 8xxxxxxxx) nor La Poste's 356000000, whose SIRETs follow another rule.
_SIREN_SPAN = 70_000_000
_SIREN_STEP = 37_812_419  # prime to 2, 5 and 7, so prime to the span: a bijection


def siren_for(number: int, offset: int) -> str:
    base = str(10_000_000 + (number * _SIREN_STEP + offset) % _SIREN_SPAN)
    if base == "35600000":  # La Poste: take a number no structure uses
        return siren_for(number + _SIREN_SPAN // 2 + 1, offset)
    return base + luhn.calc_check_digit(base)


def siret_for(siren: str, nic: int) -> str:
    body = f"{siren}{nic:04d}"
    return body + luhn.calc_check_digit(body)


def french_iban(bank_code: str, branch_code: str, account_code: str) -> str:
    """A French IBAN, compact: schwifty computes the RIB key and the IBAN's own."""
    return IBAN.generate("FR", bank_code=bank_code, branch_code=branch_code, account_code=account_code).compact


def bic_for(bank_code: str) -> str:
    """The bank's BIC from schwifty's registry, the one `clean_bic` expects beside its IBANs."""
    return str(BIC.from_bank_code("FR", bank_code))


@dataclass(frozen=True)
class StoredRib:
    name: str  # in the RIB storage
    content_type: str


def store_placeholder(storage, name: str = RIB_PLACEHOLDER) -> StoredRib:
    """Checks the placeholder PDF as an upload is checked, then saves it once: every seeded bank account names it as
    its RIB, every seeded refund line as its invoice (`INVOICE_PLACEHOLDER`)."""
    with RIB_FIXTURE.open("rb") as handle:
        pdf = clean_upload(File(handle, name=RIB_FIXTURE.name))
        stored = name if storage.exists(name) else storage.save(name, pdf.content)
    return StoredRib(stored, pdf.content_type)


@dataclass(frozen=True)
class CampaignWindow:
    """A refund campaign as the seed files for it: ages (seconds before the run) of its opening and closing (0: still
    open), each product's closing age when it closes earlier, and its rates by product code."""

    year: int
    opens_age: int
    closes_age: int
    product_closes_age: dict  # product code → age
    rates: dict  # product code → (product, rate)

    def products_open_at(self, age: int) -> list[str]:
        return [code for code in self.rates if self.product_closes_age.get(code, self.closes_age) <= age]


def campaign_windows(now: datetime, count: int = REFUND_CAMPAIGNS) -> list[CampaignWindow]:
    """The latest `count` campaigns already open, oldest first, with the rates the portal ships (refunds migration
    0002) or staff added: the seeded amounts are the portal's own."""
    from refunds.models import Campaign, Rate

    def age_of(day, end_of_day=False) -> int:
        moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=now.tzinfo)
        return max(0, int((now - moment).total_seconds()))

    campaigns = Campaign.objects.filter(opens_on__lte=now.date()).prefetch_related("product_closings__product")
    windows = []
    for campaign in campaigns.order_by("-year")[:count]:
        rates = {
            rate.product.code: (rate.product, rate.amount)
            for rate in Rate.objects.filter(year=campaign.year).select_related("product")
        }
        closings = {
            c.product.code: age_of(min(c.closes_on, campaign.closes_on), True) for c in campaign.product_closings.all()
        }
        windows.append(
            CampaignWindow(campaign.year, age_of(campaign.opens_on), age_of(campaign.closes_on, True), closings, rates)
        )
    return windows[::-1]


def seeded_random(purpose: str, seed: int) -> Random:
    """A generator of its own per table, so that each table's rows depend on the seed alone."""
    # Made-up data, no secret: it must be reproducible (S311 is off in bench/).
    return Random(f"{purpose}:{seed}")


# Request states and roles as small integers in the plan.
MAIN, MANAGER, USER = 0, 1, 2
ROLES = [Membership.Role.MAIN_MANAGER, Membership.Role.MANAGER, Membership.Role.USER]
REQUESTED, APPROVED, REFUSED_STATE, WITHDRAWN_STATE = 0, 1, 2, 3
State = ApprovalRequest.State
STATES = [State.REQUESTED, State.APPROVED, State.REFUSED, State.WITHDRAWN]


@dataclass(repr=False)
class Plan:
    """Who is who, as indices (user i has pk i + 1, structure s pk s + 1) and ages in seconds before `now`."""

    structures: int
    users: int
    pending: int
    other_pending: int
    seed: int
    now: datetime
    campaigns: list = field(default_factory=list)  # the refund campaigns' windows (`campaign_windows`), oldest first
    departement_requests: int = BENCH_DEPARTEMENT_REQUESTS  # about this many refund requests in the Drôme
    active: bytearray = field(init=False)
    joined: array = field(init=False)  # age of each account
    main_manager: array = field(init=False)
    created: array = field(init=False)  # age of each structure
    centre: bytearray = field(init=False)
    memberships: list = field(init=False)  # (user, structure, role, age)
    requests: list = field(init=False)  # (state, requester, structure, age, decided age, decided by, comment, reason)
    bench_pending: range = field(init=False)  # positions in `requests` of the bench manager's queue

    def __post_init__(self):
        self.rng = seeded_random("seed_scale", self.seed)
        # Age of the portal's opening: `RUN_UP` before the oldest campaign, five years ago without campaigns.
        self.opened = self.campaigns[0].opens_age + RUN_UP if self.campaigns else 5 * YEAR
        self.siren_offset = self.rng.randrange(_SIREN_SPAN)
        self._plan_users()
        self._plan_structures()
        self._plan_memberships()
        self._plan_requests()
        self._plan_bench_departement()

    def at(self, age: int) -> datetime:
        return self.now - timedelta(seconds=age)

    # Users: 0 is the bench manager, 1 the bench member.
    def _plan_users(self):
        rng, users = self.rng, self.users
        self.active = bytearray(users)
        self.joined = array("l", bytes(8 * users))
        opened, wave = self.opened, max(self.opened - RUN_UP, 2 * DAY + 1)
        for user in range(users):
            if user < 2 or rng.random() >= UNACTIVATED:
                self.active[user] = 1
                # In the run-up to the first campaign filed online, or any day since.
                self.joined[user] = (
                    rng.randrange(wave, opened) if rng.random() < EARLY else rng.randrange(2 * DAY, opened)
                )
            else:  # they signed up lately and have not opened the link
                self.joined[user] = rng.randrange(600, 120 * DAY)
        self.joined[0] = self.joined[1] = wave  # the bench farm files for every campaign
        others = [user for user in range(2, users) if self.active[user]]
        rng.shuffle(others)
        self.activated_pool = others
        self.unactivated_pool = [user for user in range(2, users) if not self.active[user]]

    # Structures: 0 is « EARL Banc d'Essai »; centres are drawn past 3 (the bench member's requests go to 1–3).
    def _plan_structures(self):
        rng, count = self.rng, self.structures
        self.main_manager = array("l", bytes(8 * count))
        self.created = array("l", bytes(8 * count))
        self.centre = bytearray(count)
        pool = iter(self.activated_pool)
        managers = []
        try:
            for structure in range(count):
                if structure == 0:
                    manager = 0
                elif managers and structure > 3 and rng.random() < SECOND_FARM:
                    # A farmer with a second farm, registered some time after the first.
                    manager = rng.choice(managers)
                    self.main_manager[structure] = manager
                    self.created[structure] = rng.randrange(DAY, self.joined[manager])
                    continue
                else:
                    manager = next(pool)
                    managers.append(manager)
                # The first farm comes with the sign-up.
                self.main_manager[structure] = manager
                self.created[structure] = self.joined[manager]
        except StopIteration:
            raise ValueError(
                f"{count} structures need about as many activated users as main managers: give more --users."
            ) from None
        self.staff_pool = list(pool)  # activated users who manage no structure
        centres = max(1, round(count * CENTRES)) if count > 10 else 0
        for structure in rng.sample(range(4, count), min(centres, max(count - 4, 0))):
            self.centre[structure] = 1

    def _plan_memberships(self):
        rng = self.rng
        self.memberships = memberships = []
        self.member_keys = keys = set()

        def attach(user, structure, role, age=None):
            if age is None:
                age = rng.randrange(0, max(1, min(self.joined[user], self.created[structure])))
            memberships.append((user, structure, role, age))
            keys.add(user * self.structures + structure)

        for structure in range(self.structures):
            attach(self.main_manager[structure], structure, MAIN, self.created[structure])
        # The bench member and three more on « EARL Banc d'Essai »; the member's approved request is on structure 2.
        attach(1, 0, USER)
        people = self.staff_pool or self.activated_pool
        for role, user in zip((MANAGER, USER, USER), rng.sample(people, min(3, len(people))), strict=False):
            if user * self.structures not in keys:
                attach(user, 0, role)
        if self.structures > 2:
            attach(1, 2, USER)
        # Centres: a main manager and many colleagues, some of whom work on their clients' farms.
        staff = iter(self.staff_pool)
        centre_staff = []
        scale = max(1, self.structures // 20_000)  # small databases get small centres
        for structure in (s for s in range(self.structures) if self.centre[s]):
            for _ in range(rng.randint(10, 40 + 20 * min(scale, 3))):
                user = next(staff, None)
                if user is None:
                    break
                centre_staff.append(user)
                attach(user, structure, MANAGER if rng.random() < 0.1 else USER)
        free = list(staff)  # activated users not attached anywhere yet
        for structure in range(4, self.structures):
            if self.centre[structure] or rng.random() >= WITH_EXTRAS:
                continue
            for _ in range(rng.randint(1, 3)):
                pick = rng.random()
                if pick < 0.25 and centre_staff:
                    user = rng.choice(centre_staff)
                elif pick < 0.35:
                    user = self.main_manager[rng.randrange(4, self.structures)]
                elif pick < 0.40 and self.unactivated_pool:
                    user = rng.choice(self.unactivated_pool)  # approved, never activated
                elif free:
                    user = rng.choice(free)
                else:
                    continue
                if user * self.structures + structure in keys:
                    continue
                role = MANAGER if self.active[user] and rng.random() < 0.35 else USER
                attach(user, structure, role)

    def _request(self, state, requester, structure, age, decided_age=None, decided_by=None, reason=""):
        comment = self.rng.choice(COMMENTS)
        self.requests.append((state, requester, structure, age, decided_age, decided_by, comment, reason))

    def _plan_requests(self):
        rng, structures = self.rng, self.structures
        self.requests = []
        live = set()
        # Every attachment but the main managers' went through an approved request.
        for user, structure, role, age in self.memberships:
            if role != MAIN:
                asked = min(age + rng.randrange(3600, 10 * DAY), self.joined[user], self.created[structure])
                self._request(APPROVED, user, structure, max(asked, age), age, self.main_manager[structure])
        # Refused and withdrawn ones, spread over the structures (not the bench's: its queue is exact).
        for state, share in ((REFUSED_STATE, REFUSED), (WITHDRAWN_STATE, WITHDRAWN)):
            for _ in range(round(structures * share)):
                structure = rng.randrange(1, structures)
                requester = rng.randrange(2, self.users)
                if requester * structures + structure in self.member_keys:
                    continue
                if state == WITHDRAWN_STATE and not self.active[requester]:
                    continue  # withdrawing needs signing in
                known = min(self.joined[requester], self.created[structure])
                if known <= DAY:
                    continue  # decided at least a day ago, so asked before this account or structure existed
                age = rng.randrange(DAY, known)
                decided = max(0, age - rng.randrange(600, 15 * DAY))
                if state == REFUSED_STATE:
                    self._request(state, requester, structure, age, decided, self.main_manager[structure],
                                  rng.choice(REFUSAL_REASONS))  # fmt: skip
                else:
                    self._request(state, requester, structure, age, decided, requester)
        # The bench member's own: pending on 1, approved on 2 (above, with the membership), refused on 3.
        if structures > 3:
            self._request(REQUESTED, 1, 1, min(20 * DAY, self.created[1]))
            live.add(1 * structures + 1)
            asked_at = min(90 * DAY, self.created[3])
            self._request(REFUSED_STATE, 1, 3, asked_at, asked_at // 2, self.main_manager[3], REFUSAL_REASONS[0])
        # Pending elsewhere: every never-activated account asked once, as it signed up; then activated users.
        unactivated = iter(self.unactivated_pool)
        asked, attempts = 0, 0
        while asked < self.other_pending:
            attempts += 1
            if attempts > 10 * self.other_pending + 1000:
                raise ValueError(f"--other-pending {self.other_pending} is more than these users and structures allow.")
            structure = rng.randrange(1, structures)
            requester = next(unactivated, None)
            if requester is None:
                requester = rng.randrange(2, self.users)
            key = requester * structures + structure
            if key in self.member_keys or key in live:
                continue
            live.add(key)
            recent = min(self.joined[requester], self.created[structure], 90 * DAY)
            age = self.joined[requester] if not self.active[requester] else rng.randrange(0, max(1, recent))
            self._request(REQUESTED, requester, structure, min(age, self.created[structure]))
            asked += 1
        # The bench manager's queue: K requesters, all different, over the last 60 days.
        start = len(self.requests)
        candidates = (user for user in rng.sample(range(2, self.users), min(self.users - 2, self.pending + 64)))
        for requester in candidates:
            if len(self.requests) - start == self.pending:
                break
            if requester * structures in self.member_keys:
                continue
            age = rng.randrange(0, max(1, min(60 * DAY, self.joined[requester])))
            self._request(REQUESTED, requester, 0, age)
        if len(self.requests) - start < self.pending:
            raise ValueError(f"--pending {self.pending} needs more users: each request has its own requester.")
        self.bench_pending = range(start, len(self.requests))

    def windows_of(self, structure: int) -> list[int]:
        """The campaigns the structure could file for: open at some moment since it was registered."""
        created = self.created[structure]
        return [
            index
            for index, campaign in enumerate(self.campaigns)
            if min(campaign.opens_age, created) > campaign.closes_age
        ]

    def _plan_bench_departement(self):
        """The structures in the Drôme: « EARL Banc d'Essai », then others drawn until its refund requests number
        about `departement_requests`, whatever the scale (its instructor's queue is the bench's)."""
        self.in_bench_departement = bytearray(self.structures)
        self.in_bench_departement[0] = 1
        rng = seeded_random("bench_departement", self.seed)
        others = list(range(1, self.structures))
        rng.shuffle(others)
        expected = len(self.windows_of(0))
        for structure in others:
            if expected >= self.departement_requests or not self.campaigns:
                break
            if self.centre[structure]:
                continue
            self.in_bench_departement[structure] = 1
            expected += len(self.windows_of(structure)) * (1 - INCOMPLETE)


class Rows:
    """The rows of each table as tuples, in the column order `COLUMNS` gives."""

    def __init__(
        self, plan: Plan, password_hash: str, rib: StoredRib, terms_version: str, invoice: StoredRib | None = None
    ):
        self.plan = plan
        self.password_hash = password_hash
        self.rib = rib
        self.invoice = invoice or rib
        self.terms_version = terms_version
        self.pools = Pools(plan.seed)
        self.sirets: list[str] = []
        self.bank_account_ids: list[int] = []  # the bench structure's
        # What the refund requests copy from their structure: (name, category, PACAGE, département), and its default
        # bank account (pk, IBAN, BIC, label, age) or None.
        self.structure_facts: list[tuple] = []
        self.default_accounts: list = []
        self._refund_plan = None

    def users(self):
        plan, pools = self.plan, self.pools
        rng = seeded_random("users", plan.seed)
        at = plan.at
        for user in range(plan.users):
            first, first_slug = rng.choice(pools.first_names)
            last, last_slug = rng.choice(pools.last_names)
            if user == 0:
                email, first, last = BENCH_MANAGER, "Bénédicte", "Banc"
            elif user == 1:
                email, first, last = BENCH_MEMBER, "Ulysse", "Essai"
            elif rng.random() < 0.7:
                email = f"{first_slug}.{last_slug}.{user}@exemple.fr"
            else:
                email = f"{first_slug[0]}{last_slug}{user}@exemple.fr"
            joined = at(plan.joined[user])
            phone = f"+33{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**7):07d}" if rng.random() < 0.7 else ""
            contact = f"{last_slug}.{user}@contact.exemple.fr" if rng.random() < 0.1 else ""
            if plan.active[user]:
                password = self.password_hash
                activated = joined + timedelta(seconds=rng.randrange(60, 3000))
                last_login = at(rng.randrange(0, plan.joined[user])) if rng.random() < 0.7 else None
            else:
                password = "!" + f"{rng.getrandbits(160):040x}"  # unusable, as set_unusable_password() makes it
                activated = last_login = None
            yield (
                user + 1, password, last_login, False, email, first, last, phone, contact, rng.random() < 0.3,
                joined, self.terms_version, bool(plan.active[user]), False, joined, activated, joined, 0,
            )  # fmt: skip
        # The instructors, last: one a département, the Drôme's first (`instructor_pk`); staff since the portal opened,
        # before any request they took.
        joined = at(plan.opened)
        for pk, email, first, last in self.instructors.values():
            yield (
                pk, self.password_hash, None, False, email, first, last, "", "", False, joined, self.terms_version,
                True, True, joined, joined, joined, 0,
            )  # fmt: skip

    @cached_property
    def instructors(self) -> dict[str, tuple]:
        """Département → (pk, e-mail, first name, last name) of its instructor, after the users."""
        rng = seeded_random("instructors", self.plan.seed)
        codes = [BENCH_DEPARTEMENT, *(code for code in departements.DEPARTEMENTS if code != BENCH_DEPARTEMENT)]
        found = {}
        for pk, code in enumerate(codes, start=self.plan.users + 1):
            if code == BENCH_DEPARTEMENT:
                found[code] = (pk, BENCH_INSTRUCTOR, "Inès", "Tructrice")
            else:
                first, last = rng.choice(self.pools.first_names)[0], rng.choice(self.pools.last_names)[0]
                found[code] = (pk, f"instruction.{code.lower()}@exemple.fr", first, last)
        return found

    @property
    def instructor_pk(self) -> int:
        return self.instructors[BENCH_DEPARTEMENT][0]

    def structures(self):
        plan, pools = self.plan, self.pools
        rng = seeded_random("structures", plan.seed)
        categories = [category for category, weight in CATEGORIES for _ in range(weight)]
        next_pacage = {departement.pacage: rng.randrange(100_000) for departement in pools.departements}
        elsewhere = [departement for departement in pools.departements if departement.code != BENCH_DEPARTEMENT]
        for structure in range(plan.structures):
            departement = rng.choice(elsewhere)
            if plan.in_bench_departement[structure]:
                departement = pools.bench_departement
            postal_code, city = rng.choice(departement.communes)
            siren = siren_for(structure, plan.siren_offset)
            siret = siret_for(siren, rng.choice((1, 1, 1, 2, 3, 11, 12, 24)))
            self.sirets.append(siret)
            centre = bool(plan.centre[structure])
            category = "" if centre or rng.random() < INCOMPLETE else rng.choice(categories)
            if structure == 0:
                name, category, departement = BENCH_STRUCTURE, Category.FARMING_COMPANY, pools.bench_departement
                postal_code, city = departement.communes[0]
            elif centre:
                name = f"Centre de gestion agricole {departement.name}, antenne de {city}"
            else:
                name = self._farm_name(rng, category, city)
            association = centre or category == Category.CUMA
            company = category not in ("", Category.INDIVIDUAL_FARMER)
            pacage = ""
            if category:
                number = next_pacage[departement.pacage]
                next_pacage[departement.pacage] = number + 1
                pacage = f"{departement.pacage}{number % 1_000_000:06d}"
            tax_regime = rng.choice(TAX_REGIMES)
            if departement.phone_area:
                phone = f"+33{departement.phone_area}{rng.choice('1234578')}{rng.randrange(10**7):07d}"
            else:
                phone = ""
            created = plan.at(plan.created[structure])
            updated = plan.at(rng.randrange(0, plan.created[structure] + 1))
            self.structure_facts.append((name, category, pacage, departements.of_postal_code(postal_code)))
            yield (
                structure + 1, Structure.IdentifierType.SIRET, siret, name,
                f"RCS {city} {siren}" if company else "",
                vat_number_for(siren) if tax_regime in VAT_LIABLE else "",
                Structure.StructureType.ASSOCIATION if association else Structure.StructureType.COMPANY,
                f"contact{structure}@exemple.fr" if rng.random() < 0.6 else "",
                Structure.Status.ACTIVE if rng.random() < 0.98 else Structure.Status.INACTIVE, tax_regime,
                rng.choice(pools.streets), "BP 12" if rng.random() < 0.05 else "", "", postal_code, city, "FR",
                phone if rng.random() < 0.8 else "", "", category, pacage, centre, created, updated,
            )  # fmt: skip

    def _farm_name(self, rng: Random, category: str, city: str) -> str:
        last = rng.choice(self.pools.last_names)[0]
        match category:
            case Category.INDIVIDUAL_FARMER:
                return f"{last.upper()} {rng.choice(self.pools.first_names)[0]}"
            case Category.CUMA:
                return f"CUMA de {city}"
            case Category.ETARF:
                return f"ETA {last}"
            case Category.FARMERS_GIE:
                return f"GIE des producteurs de {city}"
            case Category.OTHER_LEGAL_ENTITY:
                return f"{rng.choice(('Domaine', 'SCI', 'Association foncière'))} {last}"
            case Category.AQUACULTURE:
                return f"{rng.choice(('Pisciculture', 'Parcs ostréicoles'))} {last}"
        # A farming company, or a structure whose category is not filled in yet.
        form = rng.choice(COMPANY_FORMS)
        pick = rng.random()
        if pick < 0.4:
            return f"{form} {last}"
        if pick < 0.7:
            return f"{form} {last}-{rng.choice(self.pools.last_names)[0]}"  # two families
        return f"{form} de {city}"

    def memberships(self):
        plan = self.plan
        for pk, (user, structure, role, age) in enumerate(plan.memberships, start=1):
            yield (pk, user + 1, structure + 1, ROLES[role], plan.at(age))

    def bank_accounts(self):
        plan = self.plan
        rng = seeded_random("bank_accounts", plan.seed)
        banks = [code for code, weight in BANK_CODES for _ in range(weight)]
        bics = {code: bic_for(code) for code, _ in BANK_CODES}
        pk = 0
        self.default_accounts = [None] * plan.structures
        for structure in range(plan.structures):
            if structure == 0:
                count = 2
            elif rng.random() < WITH_BANK_ACCOUNT:
                count = 2 if rng.random() < SECOND_BANK_ACCOUNT else 1
            else:
                continue
            labels = rng.sample(["Compte courant", "Compte professionnel", "Compte exploitation"], 1)
            labels.append(rng.choice(["Compte épargne", "Compte secondaire", "Compte CUMA"]))
            for number in range(count):
                pk += 1
                bank = rng.choice(banks)
                account = f"{rng.randrange(10_000):04d}{pk % 10_000_000:07d}"  # the pk makes it unique
                iban = french_iban(bank, f"{rng.randrange(100_000):05d}", account)
                age = rng.randrange(0, plan.created[structure] + 1)
                if structure == 0:
                    self.bank_account_ids.append(pk)
                if number == 0:
                    self.default_accounts[structure] = (pk, iban, bics[bank], labels[0], age)
                yield (
                    pk, structure + 1, labels[number], iban, bics[bank], self.rib.name,
                    rng.choice(("RIB.pdf", "rib.pdf", f"RIB {labels[number]}.pdf", "scan_rib.pdf")),
                    self.rib.content_type, number == 0, plan.main_manager[structure] + 1, plan.at(age), plan.at(age),
                )  # fmt: skip

    def approval_requests(self):
        plan = self.plan
        for pk, (state, requester, structure, age, decided, decided_by, comment, reason) in enumerate(
            plan.requests, start=1
        ):
            yield (
                pk, ApprovalRequest.Kind.ATTACHMENT, STATES[state], requester + 1, structure + 1, comment,
                plan.at(age), None if decided_by is None else decided_by + 1,
                None if decided is None else plan.at(decided), reason,
            )  # fmt: skip

    # Refund requests ------------------------------------------------------------------------------------------------
    # The plan of the requests needs the structures' facts (category, PACAGE, département, bank account): it is made
    # once their rows have been written, on the first call of a refund table.

    def refund_plan(self) -> "RefundPlan":
        if self._refund_plan is None:
            if len(self.structure_facts) != self.plan.structures or len(self.default_accounts) != self.plan.structures:
                raise ValueError("The refund rows follow the structures' and the bank accounts' rows.")
            self._refund_plan = RefundPlan(self.plan, self.structure_facts)
        return self._refund_plan

    def refund_lines(self):
        """The lines, written first: each request's totals come from its rounded lines, as the portal sums them."""
        plan, refunds = self.plan, self.refund_plan()
        rng = seeded_random("refund_lines", plan.seed)
        weights = {}
        reduction = REFUND_MESSAGES["reduction"]
        pk = 0
        for index in range(len(refunds.structure)):
            status = STATUS_VALUES[refunds.status[index]]
            window = plan.campaigns[refunds.campaign[index]]
            if refunds.structure[index] == 0:
                count = BENCH_LINES
            elif index == refunds.import_draft:
                count = 0
            else:
                count = min(200, 1 + int(rng.expovariate(1 / 9.5)))
            sent = status != "draft"
            reference = refunds.filed[index] if sent else refunds.created[index]
            available = tuple(window.products_open_at(reference)) or tuple(window.rates)
            if (window.year, available) not in weights:
                weights[window.year, available] = [code for code, weight in LINE_PRODUCTS if code in available
                                                   for _ in range(weight)] or list(available)  # fmt: skip
            products = weights[window.year, available]
            granted_all = status in GRANTED_STATUSES
            reduced = granted_all and bool(refunds.partial[index])
            supplier, prefix = rng.choice(SUPPLIERS)
            base = rng.randrange(1, 90_000)
            asked = granted = 0
            for position in range(1, count + 1):
                code = rng.choice(products)
                product, rate = window.rates[code]
                low, high = QUANTITIES[code]
                quantity = Decimal(rng.randrange(low, high)).scaleb(-2)
                amount = product.amount(quantity, rate)
                if product.is_de_minimis:
                    refunds.de_minimis[index] = 1
                given, reason = None, ""
                if status == "rejected":
                    given = Decimal("0.00")
                elif granted_all:
                    given = amount
                    if reduced and position == 1 and amount > CENT:
                        given, reason = round_to_cent(amount / 2), reduction
                cents = int(amount.scaleb(2))
                asked += cents
                if given is not None:
                    granted += int(given.scaleb(2))
                number = f"{prefix}-{window.year}-{base + position:05d}"
                attached = sent or index == refunds.bench_draft or rng.random() >= DRAFT_WITHOUT_INVOICE
                pk += 1
                yield (
                    pk, index + 1, number,
                    date(window.year, 1, 1) + timedelta(days=rng.randrange(365)), supplier, product.pk, quantity,
                    rate, amount, given, reason, self.invoice.name if attached else "",
                    f"{number}.pdf" if attached else "", self.invoice.content_type if attached else "", position,
                )  # fmt: skip
            refunds.asked[index] = asked
            refunds.granted[index] = granted
        refunds.line_count = pk

    def refund_requests(self):
        plan, refunds = self.plan, self.refund_plan()
        if refunds.line_count is None:
            raise ValueError("The refund requests follow their lines: their totals are the lines'.")
        rng = seeded_random("refund_requests", plan.seed)
        banks = [code for code, weight in BANK_CODES for _ in range(weight)]
        bics = {code: bic_for(code) for code, _ in BANK_CODES}
        former = {}  # structure → the account its older requests were filed with, replaced since
        for index in range(len(refunds.structure)):
            structure = refunds.structure[index]
            name, category, pacage, departement = self.structure_facts[structure]
            status = STATUS_VALUES[refunds.status[index]]
            window = plan.campaigns[refunds.campaign[index]]
            sent = status != "draft"
            reference = refunds.filed[index] if sent else refunds.created[index]
            account = self.default_accounts[structure]
            if sent and account is not None and account[4] < reference:
                account = None  # opened after this request: it was filed with a former account
            bank_pk = account[0] if account else None
            frozen = ("", "", "", "", "", "")
            if sent:
                if account is None:
                    if structure not in former:
                        bank = rng.choice(banks)
                        iban = french_iban(bank, f"{rng.randrange(100_000):05d}", f"9{structure:010d}")
                        former[structure] = (iban, bics[bank])
                    label, (iban, bic) = "Compte courant", former[structure]
                else:
                    label, iban, bic = account[3], account[1], account[2]
                frozen = (label, name, iban, bic, category, pacage)
            de_minimis = None
            if refunds.de_minimis[index] and (sent or index == refunds.bench_draft):
                de_minimis = Decimal(rng.choice((0, 0, 0, 1_250, 3_480, 7_900, 12_400)))
            decided = status in DECIDED_STATUSES
            batch = refunds.batch_of[index]
            if batch < 0:
                batch = None
            else:
                refunds.batch_sums[batch] += refunds.granted[index]
            manager = plan.main_manager[structure] + 1
            yield (
                index + 1, structure + 1, window.year, status, f"TIC-{window.year}-{index + 1:06d}" if sent else None,
                bank_pk, sent or index == refunds.bench_draft, de_minimis, cents(refunds.asked[index]),
                cents(refunds.granted[index]) if decided else None, *frozen, manager, plan.at(refunds.created[index]),
                plan.at(refunds.last_event_age(index)), manager if sent else None, None,
                plan.at(refunds.filed[index]) if sent else None,
                self.instructors[departement][0] if status not in ("draft", "filed") else None,
                departement if sent else "", None if batch is None else batch + 1,
            )  # fmt: skip

    def payment_batches(self):
        plan, refunds = self.plan, self.refund_plan()
        from instruction.workflows import next_business_day

        for batch, (departement, paid, age) in enumerate(refunds.batches):
            pk = batch + 1
            created = plan.at(age)
            by = self.instructors[departement][0]
            yield (
                pk, f"VIR-{created:%Y}-{pk:06d}", "paid" if paid else "in_payment", by, created,
                next_business_day(created.date()), refunds.batch_counts[batch], cents(refunds.batch_sums[batch]),
                f"seed/VIR-{created:%Y}-{pk:06d}.xml", by if paid else None,
                plan.at(refunds.paid_age(age)) if paid else None,
            )  # fmt: skip

    def refund_events(self):
        """The « fil d'évènements » each status implies, dated in order."""
        plan, refunds = self.plan, self.refund_plan()
        rng = seeded_random("refund_events", plan.seed)
        labels = {
            code: (pk, f"{first} {last} ({email})") for code, (pk, email, first, last) in self.instructors.items()
        }
        pk = 0
        for index in range(len(refunds.structure)):
            structure = refunds.structure[index]
            departement = self.structure_facts[structure][3]
            status = STATUS_VALUES[refunds.status[index]]
            manager = plan.main_manager[structure] + 1
            office, office_label = labels[departement] if departement else (None, "")
            asked, granted = cents(refunds.asked[index]), cents(refunds.granted[index])
            events = [("created", manager, "", refunds.created[index], "")]
            if status != "draft":
                events.append(("filed", manager, "", refunds.filed[index], ""))
            if status not in ("draft", "filed"):
                events.append(("taken", office, office_label, refunds.taken[index], ""))
            if status == "information_requested":
                message = rng.choice(REFUND_MESSAGES["information_requested"]).format(number="1")
                events.append(("information_requested", office, office_label, refunds.decided[index], message))
            elif status == "rejected":
                message = rng.choice(REFUND_MESSAGES["rejected"])
                events.append(("rejected", office, office_label, refunds.decided[index], message))
            elif status in GRANTED_STATUSES:
                kind = "partly_accepted" if granted < asked else "accepted"
                message = f"Montant accordé : {euros(granted)} sur {euros(asked)} demandés."
                events.append((kind, office, office_label, refunds.decided[index], message))
                if status in ("in_payment", "paid"):
                    batch_age = refunds.batches[refunds.batch_of[index]][2]
                    events.append(
                        ("in_payment", office, office_label, batch_age, f"Virement de {euros(granted)} demandé.")
                    )
                    if status == "paid":
                        message = f"Virement de {euros(granted)} effectué."
                        events.append(("paid", office, office_label, refunds.paid_age(batch_age), message))
            for kind, actor, label, age, message in events:
                pk += 1
                yield pk, index + 1, kind, actor, label, plan.at(age), message

    def refund_flags(self):
        """« Première demande » on each structure's first request sent: the flag every farm gets once."""
        refunds = self.refund_plan()
        explanation = "Première demande de la structure : elle n'a envoyé aucune autre demande de remboursement."
        for pk, index in enumerate(refunds.first_sent, start=1):
            yield pk, index + 1, "first_request", explanation


STATUS_VALUES = [status.value for status in RefundRequest.Status]
STATUS_INDEX = {value: index for index, value in enumerate(STATUS_VALUES)}
GRANTED_STATUSES = {"accepted", "partly_accepted", "in_payment", "paid"}
DECIDED_STATUSES = {*GRANTED_STATUSES, "rejected"}
PAYABLE_INDICES = {STATUS_INDEX["accepted"], STATUS_INDEX["partly_accepted"]}
MONTH = 30 * DAY


def cents(count: int) -> Decimal:
    return Decimal(count).scaleb(-2)


class RefundPlan:
    """Who files what, when, and how far it went: one entry per request (request i has pk i + 1), ages in seconds
    before the run. Each farm (a structure with its category, PACAGE and département, not a management centre) files
    once for each campaign open since it registered; a structure still missing its category may have a draft of the
    current one. « EARL Banc d'Essai » files 50-line requests, its current one a draft ready to send; the bench member's
    structure 2 holds an empty draft of the current campaign for the import. The Drôme holds at least `BENCH_PAYABLE`
    accepted requests not yet in payment."""

    def __init__(self, plan: Plan, facts: list[tuple]):
        rng = seeded_random("refund_plan", plan.seed)
        windows = plan.campaigns
        current = len(windows) - 1 if windows and windows[-1].closes_age == 0 else None
        settled = [STATUS_INDEX[value] for value, weight in SETTLED_STATUSES for _ in range(weight)]
        running = [STATUS_INDEX[value] for value, weight in CURRENT_STATUSES for _ in range(weight)]
        self.structure, self.campaign, self.status = array("l"), bytearray(), bytearray()
        self.created, self.filed, self.taken, self.decided = array("l"), array("l"), array("l"), array("l")
        self.partial = bytearray()
        self.bench_draft = self.import_draft = None
        self.first_sent: list[int] = []
        for structure in range(plan.structures):
            _, category, pacage, departement = facts[structure]
            if plan.centre[structure]:
                continue
            complete = bool(category and pacage and departement)
            first = None
            for window_index in plan.windows_of(structure):
                window = windows[window_index]
                is_current = window_index == current
                if structure == 0:
                    status = STATUS_INDEX["draft" if is_current else "paid"]
                elif structure == 2 and is_current:
                    status = STATUS_INDEX["draft"]
                elif not complete:
                    if not is_current or rng.random() >= 0.5:
                        continue
                    status = STATUS_INDEX["draft"]
                else:
                    status = rng.choice(running if is_current else settled)
                index = len(self.structure)
                if structure == 0 and is_current:
                    self.bench_draft = index
                elif structure == 2 and is_current:
                    self.import_draft = index
                newest, oldest = window.closes_age, min(window.opens_age, plan.created[structure])
                filed = rng.randrange(newest, oldest)
                created = min(oldest, filed + rng.randrange(600, 20 * DAY))
                taken = later(rng, filed)
                decided = later(rng, taken)
                self.structure.append(structure)
                self.campaign.append(window_index)
                self.status.append(status)
                self.created.append(created)
                self.filed.append(filed)
                self.taken.append(taken)
                self.decided.append(decided)
                value = STATUS_VALUES[status]
                self.partial.append(
                    value == "partly_accepted" or (value in ("in_payment", "paid") and rng.random() < PARTLY)
                )
                if status != STATUS_INDEX["draft"] and (first is None or filed > self.filed[first]):
                    first = index  # the earliest filing, whatever its campaign
            if first is not None:
                self.first_sent.append(first)
        count = len(self.structure)
        self._payable_in_bench_departement(facts)
        self.de_minimis = bytearray(count)
        self.asked, self.granted = array("q", bytes(8 * count)), array("q", bytes(8 * count))
        self.line_count = None
        self._plan_batches(facts, rng)

    def _payable_in_bench_departement(self, facts):
        """Paid requests of the Drôme turned back into accepted ones, not yet in payment, until it holds enough."""
        ours = [i for i in range(len(self.structure)) if facts[self.structure[i]][3] == BENCH_DEPARTEMENT]
        payable = sum(1 for i in ours if self.status[i] in PAYABLE_INDICES)
        for index in ours:
            if payable >= BENCH_PAYABLE:
                break
            if self.status[index] == STATUS_INDEX["paid"] and self.structure[index] != 0:
                self.status[index] = STATUS_INDEX["accepted"]
                self.partial[index] = 0
                payable += 1

    def _plan_batches(self, facts, rng):
        """A batch per département, status and month: the in-payment and paid requests of that month."""
        self.batch_of = array("l", [-1]) * len(self.structure)  # each request's batch, -1 for none
        self.batches: list[tuple] = []  # (département, paid, age)
        self.batch_counts: list[int] = []
        keys = {}
        in_payment, paid = STATUS_INDEX["in_payment"], STATUS_INDEX["paid"]
        for index in range(len(self.structure)):
            status = self.status[index]
            if status not in (in_payment, paid):
                continue
            decided = self.decided[index]
            moment = later(rng, decided) if status == paid else min(decided, rng.randrange(0, 20 * DAY))
            month = moment // MONTH
            key = (facts[self.structure[index]][3], status == paid, month)
            if key not in keys:
                keys[key] = len(self.batches)
                self.batches.append((key[0], key[1], month * MONTH))
                self.batch_counts.append(0)
            self.batch_of[index] = keys[key]
            self.batch_counts[keys[key]] += 1
        self.batch_sums = [0] * len(self.batches)

    @staticmethod
    def paid_age(batch_age: int) -> int:
        return max(0, batch_age - 5 * DAY)

    def last_event_age(self, index: int) -> int:
        status = STATUS_VALUES[self.status[index]]
        if status == "draft":
            return self.created[index]
        if status == "filed":
            return self.filed[index]
        if status == "in_review":
            return self.taken[index]
        if status in ("in_payment", "paid"):
            batch_age = self.batches[self.batch_of[index]][2]
            return self.paid_age(batch_age) if status == "paid" else batch_age
        return self.decided[index]


def later(rng: Random, age: int) -> int:
    """A moment after `age`: one day to six weeks later, or halfway to now when that would be in the future."""
    step = rng.randrange(DAY, 40 * DAY)
    return age - step if age > step else age // 2


# Column order of each table's rows (attribute names of the model's concrete fields).
COLUMNS = {
    "users": [
        "id", "password", "last_login", "is_superuser", "email", "first_name", "last_name", "phone", "contact_email",
        "survey_consent", "terms_accepted_at", "terms_version", "is_active", "is_staff", "date_joined",
        "activated_at", "activation_sent_at", "session_generation",
    ],
    "structures": [
        "id", "identifier_type", "siret", "name", "rcs_number", "vat_number", "structure_type", "email", "status",
        "tax_regime", "address", "address_complement_1", "address_complement_2", "postal_code", "city", "country",
        "phone", "procedure_category", "beneficiary_category", "pacage", "is_agricultural_centre", "created_at",
        "updated_at",
    ],
    "memberships": ["id", "user_id", "structure_id", "role", "created_at"],
    "bank_accounts": [
        "id", "structure_id", "label", "iban", "bic", "rib", "rib_filename", "rib_content_type", "is_default",
        "created_by_id", "created_at", "updated_at",
    ],
    "approval_requests": [
        "id", "kind", "state", "requester_id", "structure_id", "comment", "created_at", "decided_by_id",
        "decided_at", "reason",
    ],
    "refund_lines": [
        "id", "request_id", "invoice_number", "invoice_date", "supplier", "product_id", "quantity", "rate", "amount",
        "granted_amount", "reduction_reason", "invoice", "invoice_filename", "invoice_content_type", "position",
    ],
    "refund_requests": [
        "id", "structure_id", "year", "status", "number", "bank_account_id", "not_in_difficulty", "de_minimis_total",
        "total_asked", "total_granted", "bank_label", "bank_holder", "bank_iban", "bank_bic", "beneficiary_category",
        "pacage", "created_by_id", "created_at", "updated_at", "filed_by_id", "filer_centre_id", "filed_at",
        "assigned_to_id", "departement", "payment_batch_id",
    ],
    "payment_batches": [
        "id", "number", "status", "created_by_id", "created_at", "execution_date", "transfer_count", "control_sum",
        "file", "paid_by_id", "paid_at",
    ],
    "refund_events": ["id", "request_id", "kind", "actor_id", "actor_label", "at", "message"],
    "refund_flags": ["id", "request_id", "kind", "explanation"],
}  # fmt: skip


def columns_for(model, names: list[str]) -> tuple[list[str], list]:
    """The table's columns: ours, then any field added to the model since, filled with its default.

    A new field without a default stops the command with a clear message
    instead of a NOT NULL error halfway through a million rows.
    """
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = set(names) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}: update bench/seeding.py.")
    extra = []
    for name, model_field in fields.items():
        if name in names:
            continue
        if not model_field.has_default() and not model_field.null and not model_field.blank:
            raise ValueError(f"{model.__name__}.{name} has no default: bench/seeding.py must fill it.")
        extra.append(model_field)
    defaults = [model_field.get_default() for model_field in extra]
    return [fields[name].column for name in names] + [f.column for f in extra], defaults


def write_table(model, names: list[str], rows, progress=None, every: int = 250_000) -> int:
    """Streams the rows into the model's table: COPY on PostgreSQL, batched INSERTs elsewhere."""
    columns, defaults = columns_for(model, names)
    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(column) for column in columns)
    count = 0
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        statement = f"COPY {connection.ops.quote_name(table)} ({quoted}) FROM STDIN"
        with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row((*row, *defaults) if defaults else row)
                count += 1
                if progress and count % every == 0:
                    progress(count)
        return count
    fields = {f.column: f for f in model._meta.concrete_fields}
    prepare = [fields[column].get_db_prep_save for column in columns]
    # Names from the model's metadata, quoted; the values go as parameters.
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {connection.ops.quote_name(table)} ({quoted}) VALUES ({placeholders})"  # noqa: S608
    batch = []
    with connection.cursor() as cursor:
        for row in rows:
            values = (*row, *defaults)
            batch.append([to_db(value, connection) for to_db, value in zip(prepare, values, strict=True)])
            count += 1
            if len(batch) == 2000:
                cursor.executemany(sql, batch)
                batch.clear()
            if progress and count % every == 0:
                progress(count)
        if batch:
            cursor.executemany(sql, batch)
    return count
