"""Farm-country data at scale for benchmarks: users, structures, memberships, bank details, requests.

`manage.py seed_scale` plans everything in memory (a few integers per row), then
streams the rows of each table: PostgreSQL's COPY, else batched INSERTs. Rows
carry explicit primary keys; the sequences are reset afterwards. Every model
constraint holds (see the models' `Meta.constraints`):

- one main manager per structure, an activated user; (user, structure) unique;
- one live request per requester and structure; closed requests dated, refusals reasoned;
- one default bank account per structure, IBAN and label unique per structure;
- PACAGE nine digits, empty for management centres, which have no category either.

Only `random.Random(seed)` decides: the same seed gives the same rows, with
dates counted back from the moment of the run.
"""

import io
import unicodedata
from array import array
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from django.core.files.base import ContentFile
from django.db import connection
from schwifty import IBAN

from structures.models import Membership
from structures.validators import vat_number_for

DAY = 86_400
YEAR = 365 * DAY

BENCH_MANAGER = "bench.gestionnaire@exemple.fr"
BENCH_MEMBER = "bench.utilisateur@exemple.fr"
BENCH_STRUCTURE = "EARL Banc d'Essai"
DEFAULT_PASSWORD = "Moisson-Bench-2031!"
RIB_PLACEHOLDER = "seed/rib-fictif.pdf"

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

# fmt: off
FIRST_NAMES = [
    "Jean", "Pierre", "Michel", "Philippe", "Alain", "Patrick", "Nicolas", "Christophe", "Laurent", "Stéphane",
    "Sébastien", "Julien", "Thomas", "Maxime", "Antoine", "Guillaume", "Romain", "Mathieu", "Hugo", "Lucas",
    "Louis", "Paul", "Bernard", "Gérard", "Daniel", "François", "Éric", "Olivier", "Yannick", "Benoît",
    "Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Christine", "Valérie", "Sandrine", "Céline", "Aurélie",
    "Émilie", "Julie", "Camille", "Laura", "Manon", "Chloé", "Léa", "Sophie", "Anne", "Martine",
    "Françoise", "Monique", "Hélène", "Élodie", "Claire", "Agnès", "Brigitte", "Pauline", "Margaux", "Justine",
]
LAST_NAMES = [
    "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
    "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
    "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Legrand",
    "Garnier", "Faure", "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Roussel", "Perrin", "Morin",
    "Mathieu", "Clément", "Gauthier", "Dumont", "Fontaine", "Chevalier", "Robin", "Masson", "Boyer", "Denis",
    "Lemaire", "Duval", "Joly", "Gautier", "Roche", "Noël", "Meyer", "Meunier", "Marchand", "Dufour",
    "Blanchard", "Barbier", "Brun", "Dumas", "Brunet", "Schmitt", "Leroux", "Colin", "Renard", "Arnaud",
    "Rolland", "Caron", "Aubert", "Giraud", "Leclerc", "Vidal", "Bourgeois", "Renaud", "Lemoine", "Picard",
    "Gaillard", "Lacroix", "Fabre", "Dupuis", "Hubert", "Guillot", "Rivière", "Le Gall", "Moulin", "Berger",
    "Fleury", "Deschamps", "Carpentier", "Maillard", "Jacquet", "Poirier", "Charpentier", "Le Goff", "Etcheverry",
    "Pujol", "Lagarde", "Vial", "Chabert", "Kerhervé", "Bouvier", "Chauvin", "Tessier", "Pelletier", "Besnard",
]
PLACES = [
    "du Moulin", "des Trois Chênes", "de la Fontaine", "des Peupliers", "du Grand Pré", "de la Vallée",
    "des Tilleuls", "du Bois Joli", "de la Ferme Neuve", "du Val", "des Granges", "de Beauregard", "du Château",
    "des Acacias", "de la Source", "du Coteau", "des Vignes", "de la Butte", "du Bocage", "des Genêts",
    "de la Lande", "de Kervern", "du Plateau", "des Saules", "de la Croix Blanche", "du Pont", "des Prés",
    "de la Roche", "du Mas", "des Quatre Vents", "de la Forêt", "de l'Étang", "des Ormes", "du Puits",
    "de la Garenne", "des Noyers", "de Montplaisir", "des Bruyères", "du Chêne Vert", "des Hautes Terres",
]
STREETS = [
    "route de {place}", "chemin {place}", "lieu-dit Les Granges", "rue de l'Église", "route départementale 12",
    "impasse {place}", "lieu-dit {place}", "Le Bourg", "rue du Stade", "hameau {place}",
]
COMPANY_FORMS = ["GAEC"] * 6 + ["EARL"] * 8 + ["SCEA"] * 5 + ["SAS"]
# (code, weight): farms by kind; the rest of the fields follow the kind.
CATEGORIES = [
    ("individual_farmer", 40), ("farming_company", 40), ("cuma", 4), ("etarf", 5),
    ("farmers_gie", 1), ("other_legal_entity", 5), ("aquaculture", 2),
]
TAX_REGIMES = ["vat_receipts"] * 4 + ["vat_debits"] * 2 + ["not_liable"] * 2 + ["vat_exempt", ""]
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
# Banks by code, Crédit Agricole's regional banks first (weight 3): farm country banks there.
BANK_CODES = [
    *[(code, 3) for code in (
        "16606", "18206", "12506", "16806", "18706", "11006", "13106", "17206", "13306", "14706", "16006",
        "12906", "17806", "19406", "11706", "12406", "16106", "11206", "13906", "14406", "17106", "18106",
        "10206", "19106", "11306", "12206", "13506", "16906", "17906", "18306", "19506", "14506",
    )],
    ("10278", 6), ("15589", 4), ("30004", 4), ("30003", 3), ("30002", 3), ("20041", 4),
    ("13335", 2), ("14445", 2), ("13825", 2), ("10907", 2), ("13507", 2), ("14707", 2), ("30066", 2),
]
# (PACAGE département, phone area, département, [(postal code, commune)]): one or two communes each.
# Paris and its inner suburbs are left out: hardly any farms.
GEOGRAPHY = """
001 4 Ain: 01000 Bourg-en-Bresse, 01190 Pont-de-Vaux
002 3 Aisne: 02000 Laon, 02140 Vervins
003 4 Allier: 03000 Moulins, 03800 Gannat
004 4 Alpes-de-Haute-Provence: 04000 Digne-les-Bains, 04300 Forcalquier
005 4 Hautes-Alpes: 05000 Gap, 05200 Embrun
006 4 Alpes-Maritimes: 06140 Vence
007 4 Ardèche: 07000 Privas, 07200 Aubenas
008 3 Ardennes: 08000 Charleville-Mézières, 08300 Rethel
009 5 Ariège: 09000 Foix, 09100 Pamiers
010 3 Aube: 10000 Troyes, 10200 Bar-sur-Aube
011 4 Aude: 11000 Carcassonne, 11100 Narbonne
012 5 Aveyron: 12000 Rodez, 12100 Millau
013 4 Bouches-du-Rhône: 13200 Arles, 13300 Salon-de-Provence
014 2 Calvados: 14000 Caen, 14400 Bayeux
015 4 Cantal: 15000 Aurillac, 15100 Saint-Flour
016 5 Charente: 16000 Angoulême, 16100 Cognac
017 5 Charente-Maritime: 17000 La Rochelle, 17100 Saintes
018 2 Cher: 18000 Bourges, 18200 Saint-Amand-Montrond
019 5 Corrèze: 19000 Tulle, 19100 Brive-la-Gaillarde
020 4 Corse: 20000 Ajaccio, 20250 Corte
021 3 Côte-d'Or: 21000 Dijon, 21200 Beaune
022 2 Côtes-d'Armor: 22000 Saint-Brieuc, 22200 Guingamp
023 5 Creuse: 23000 Guéret, 23200 Aubusson
024 5 Dordogne: 24000 Périgueux, 24100 Bergerac
025 3 Doubs: 25000 Besançon, 25300 Pontarlier
026 4 Drôme: 26000 Valence, 26400 Crest
027 2 Eure: 27000 Évreux, 27200 Vernon
028 2 Eure-et-Loir: 28000 Chartres, 28200 Châteaudun
029 2 Finistère: 29000 Quimper, 29600 Morlaix
030 4 Gard: 30000 Nîmes, 30100 Alès
031 5 Haute-Garonne: 31000 Toulouse, 31800 Saint-Gaudens
032 5 Gers: 32000 Auch, 32100 Condom
033 5 Gironde: 33000 Bordeaux, 33500 Libourne
034 4 Hérault: 34000 Montpellier, 34500 Béziers
035 2 Ille-et-Vilaine: 35000 Rennes, 35300 Fougères
036 2 Indre: 36000 Châteauroux, 36100 Issoudun
037 2 Indre-et-Loire: 37000 Tours, 37500 Chinon
038 4 Isère: 38000 Grenoble, 38200 Vienne
039 3 Jura: 39000 Lons-le-Saunier, 39100 Dole
040 5 Landes: 40000 Mont-de-Marsan, 40100 Dax
041 2 Loir-et-Cher: 41000 Blois, 41100 Vendôme
042 4 Loire: 42000 Saint-Étienne, 42300 Roanne
043 4 Haute-Loire: 43000 Le Puy-en-Velay, 43100 Brioude
044 2 Loire-Atlantique: 44000 Nantes, 44110 Châteaubriant
045 2 Loiret: 45000 Orléans, 45200 Montargis
046 5 Lot: 46000 Cahors, 46100 Figeac
047 5 Lot-et-Garonne: 47000 Agen, 47300 Villeneuve-sur-Lot
048 4 Lozère: 48000 Mende, 48200 Saint-Chély-d'Apcher
049 2 Maine-et-Loire: 49000 Angers, 49300 Cholet
050 2 Manche: 50000 Saint-Lô, 50200 Coutances
051 3 Marne: 51000 Châlons-en-Champagne, 51200 Épernay
052 3 Haute-Marne: 52000 Chaumont, 52200 Langres
053 2 Mayenne: 53000 Laval, 53200 Château-Gontier-sur-Mayenne
054 3 Meurthe-et-Moselle: 54000 Nancy, 54300 Lunéville
055 3 Meuse: 55000 Bar-le-Duc, 55100 Verdun
056 2 Morbihan: 56000 Vannes, 56300 Pontivy
057 3 Moselle: 57000 Metz, 57400 Sarrebourg
058 3 Nièvre: 58000 Nevers, 58200 Cosne-Cours-sur-Loire
059 3 Nord: 59000 Lille, 59300 Valenciennes
060 3 Oise: 60000 Beauvais, 60200 Compiègne
061 2 Orne: 61000 Alençon, 61100 Flers
062 3 Pas-de-Calais: 62000 Arras, 62200 Boulogne-sur-Mer
063 4 Puy-de-Dôme: 63000 Clermont-Ferrand, 63200 Riom
064 5 Pyrénées-Atlantiques: 64000 Pau, 64100 Bayonne
065 5 Hautes-Pyrénées: 65000 Tarbes, 65200 Bagnères-de-Bigorre
066 4 Pyrénées-Orientales: 66000 Perpignan, 66500 Prades
067 3 Bas-Rhin: 67000 Strasbourg, 67600 Sélestat
068 3 Haut-Rhin: 68000 Colmar, 68100 Mulhouse
069 4 Rhône: 69400 Villefranche-sur-Saône, 69210 L'Arbresle
070 3 Haute-Saône: 70000 Vesoul, 70200 Lure
071 3 Saône-et-Loire: 71000 Mâcon, 71100 Chalon-sur-Saône
072 2 Sarthe: 72000 Le Mans, 72200 La Flèche
073 4 Savoie: 73000 Chambéry, 73200 Albertville
074 4 Haute-Savoie: 74000 Annecy, 74200 Thonon-les-Bains
076 2 Seine-Maritime: 76000 Rouen, 76400 Fécamp
077 1 Seine-et-Marne: 77000 Melun, 77100 Meaux
078 1 Yvelines: 78000 Versailles, 78200 Mantes-la-Jolie
079 5 Deux-Sèvres: 79000 Niort, 79300 Bressuire
080 3 Somme: 80000 Amiens, 80100 Abbeville
081 5 Tarn: 81000 Albi, 81100 Castres
082 5 Tarn-et-Garonne: 82000 Montauban, 82100 Castelsarrasin
083 4 Var: 83300 Draguignan, 83170 Brignoles
084 4 Vaucluse: 84000 Avignon, 84200 Carpentras
085 2 Vendée: 85000 La Roche-sur-Yon, 85200 Fontenay-le-Comte
086 5 Vienne: 86000 Poitiers, 86100 Châtellerault
087 5 Haute-Vienne: 87000 Limoges, 87200 Saint-Junien
088 3 Vosges: 88000 Épinal, 88100 Saint-Dié-des-Vosges
089 3 Yonne: 89000 Auxerre, 89100 Sens
090 3 Territoire de Belfort: 90000 Belfort
091 1 Essonne: 91150 Étampes
095 1 Val-d'Oise: 95300 Pontoise
971 - Guadeloupe: 97100 Basse-Terre, 97160 Le Moule
972 - Martinique: 97200 Fort-de-France, 97220 La Trinité
973 - Guyane: 97300 Cayenne, 97320 Saint-Laurent-du-Maroni
974 - La Réunion: 97400 Saint-Denis, 97430 Le Tampon
976 - Mayotte: 97600 Mamoudzou
"""
# Prefixes libphonenumber accepts whatever follows: mobiles (06 x, 07 3–9); landlines take 0A + one of 1234578
# (026x and 059x are partly unallocated or overseas).
MOBILE_PREFIXES = ["60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78", "79"]
# fmt: on


@dataclass(frozen=True)
class Departement:
    pacage: str
    phone_area: str  # "" overseas: no landline given
    name: str
    communes: list[tuple[str, str]]


def _departements() -> list[Departement]:
    departements = []
    for line in GEOGRAPHY.strip().splitlines():
        head, communes = line.split(": ")
        pacage, area, name = head.split(" ", 2)
        pairs = [tuple(commune.split(" ", 1)) for commune in communes.split(", ")]
        departements.append(Departement(pacage, "" if area == "-" else area, name, pairs))
    return departements


DEPARTEMENTS = _departements()


def ascii_slug(text: str) -> str:
    """« Lefèvre » → « lefevre », « Le Gall » → « legall »: the local part of an address."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in plain.lower() if char.isalnum())


# Luhn, the key of SIREN and SIRET; the same as stdnum.luhn.calc_check_digit, a few times faster.
_DOUBLED = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9]


def luhn_digit(number: str) -> str:
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if position % 2 == 0 else digit
    return str(-total % 10)


# SIRENs from a counter through a bijection of [10,000,000, 80,000,000): unique,
# scattered, never starting with 8 (the benchmark's newcomers sign up with
# SIRENs 8xxxxxxxx) nor La Poste's 356000000, whose SIRETs follow another rule.
_SIREN_SPAN = 70_000_000
_SIREN_STEP = 37_812_419  # prime to 2, 5 and 7, so prime to the span: a bijection


def siren_for(number: int, offset: int) -> str:
    base = 10_000_000 + (number * _SIREN_STEP + offset) % _SIREN_SPAN
    if base == 35_600_000:  # La Poste: take a number no structure uses
        return siren_for(number + _SIREN_SPAN // 2 + 1, offset)
    return f"{base}{luhn_digit(str(base))}"


def siret_for(siren: str, nic: int) -> str:
    body = f"{siren}{nic:04d}"
    return body + luhn_digit(body)


def french_iban(bank: str, branch: str, account: str) -> str:
    """FR76…: the RIB key (97 − (89·bank + 15·branch + 3·account) mod 97), then the IBAN's own."""
    rib_key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
    bban = f"{bank}{branch}{account}{rib_key:02d}"
    check = 98 - int(bban + "152700") % 97  # F = 15, R = 27
    return f"FR{check:02d}{bban}"


def bic_for(bank_code: str) -> str:
    """The BIC schwifty's bank registry gives the bank code, as `clean_bic` expects it."""
    return str(IBAN(french_iban(bank_code, "00001", "00000000001")).bic)


def placeholder_pdf() -> bytes:
    """One page saying what it is: every seeded bank account points at this file."""
    text = "RIB fictif - jeu de donnees de banc d'essai, aucun compte reel"
    stream = f"BT /F1 14 Tf 56 780 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    output = io.BytesIO()
    output.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(output.tell())
        output.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = output.tell()
    output.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        output.write(b"%010d 00000 n \n" % offset)
    output.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return output.getvalue()


def seeded_random(purpose: str, seed: int) -> Random:
    """A generator of its own per table, so that each table's rows depend on the seed alone."""
    return Random(f"{purpose}:{seed}")  # noqa: S311 (made-up data, no secret: it must be reproducible)


# Request states and roles as small integers in the plan.
MAIN, MANAGER, USER = 0, 1, 2
ROLES = [Membership.Role.MAIN_MANAGER, Membership.Role.MANAGER, Membership.Role.USER]
REQUESTED, APPROVED, REFUSED_STATE, WITHDRAWN_STATE = 0, 1, 2, 3
STATES = ["requested", "approved", "refused", "withdrawn"]


@dataclass(repr=False)
class Plan:
    """Who is who, as indices (user i has pk i + 1, structure s pk s + 1) and ages in seconds before `now`."""

    structures: int
    users: int
    pending: int
    other_pending: int
    seed: int
    now: datetime
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
        self.siren_offset = self.rng.randrange(_SIREN_SPAN)
        self._plan_users()
        self._plan_structures()
        self._plan_memberships()
        self._plan_requests()

    def at(self, age: int) -> datetime:
        return self.now - timedelta(seconds=age)

    # Users: 0 is the bench manager, 1 the bench member.
    def _plan_users(self):
        rng, users = self.rng, self.users
        self.active = bytearray(users)
        self.joined = array("l", bytes(8 * users))
        for user in range(users):
            if user < 2 or rng.random() >= UNACTIVATED:
                self.active[user] = 1
                self.joined[user] = rng.randrange(2 * DAY, 5 * YEAR)
            else:  # they signed up lately and have not opened the link
                self.joined[user] = rng.randrange(600, 120 * DAY)
        self.joined[0] = self.joined[1] = 3 * YEAR
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


class Rows:
    """The rows of each table as tuples, in the column order `COLUMNS` gives."""

    def __init__(self, plan: Plan, password_hash: str, rib_name: str, terms_version: str):
        self.plan = plan
        self.password_hash = password_hash
        self.rib_name = rib_name
        self.terms_version = terms_version
        self.sirets: list[str] = []
        self.bank_account_ids: list[int] = []  # the bench structure's
        self.first_names = [(name, ascii_slug(name)) for name in FIRST_NAMES]
        self.last_names = [(name, ascii_slug(name)) for name in LAST_NAMES]

    def users(self):
        plan = self.plan
        rng = seeded_random("users", plan.seed)
        at = plan.at
        for user in range(plan.users):
            first, first_slug = rng.choice(self.first_names)
            last, last_slug = rng.choice(self.last_names)
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

    def structures(self):
        plan = self.plan
        rng = seeded_random("structures", plan.seed)
        categories = [code for code, weight in CATEGORIES for _ in range(weight)]
        next_pacage = {departement.pacage: rng.randrange(100_000) for departement in DEPARTEMENTS}
        for structure in range(plan.structures):
            departement = rng.choice(DEPARTEMENTS)
            postal_code, city = rng.choice(departement.communes)
            siren = siren_for(structure, plan.siren_offset)
            siret = siret_for(siren, rng.choice((1, 1, 1, 2, 3, 11, 12, 24)))
            self.sirets.append(siret)
            place = rng.choice(PLACES)
            last = rng.choice(LAST_NAMES)
            centre = bool(plan.centre[structure])
            category = "" if centre or rng.random() < INCOMPLETE else rng.choice(categories)
            structure_type = "company"
            if structure == 0:
                name, category, departement = BENCH_STRUCTURE, "farming_company", DEPARTEMENTS[25]
                postal_code, city = departement.communes[1]
            elif centre:
                name = f"Centre de gestion agricole {departement.name} {structure}"
                structure_type = "association"
            elif category == "individual_farmer":
                name = f"{last.upper()} {rng.choice(FIRST_NAMES)}"
            elif category == "cuma":
                name, structure_type = f"CUMA {place} {structure}", "association"
            elif category == "etarf":
                name = f"ETA {last} {structure}"
            elif category == "farmers_gie":
                name = f"GIE {place} {structure}"
            elif category == "other_legal_entity":
                name = rng.choice(("Domaine", "SCI", "Association foncière")) + f" {place} {structure}"
            elif category == "aquaculture":
                name = rng.choice(("Pisciculture", "Parcs ostréicoles")) + f" {place} {structure}"
            else:
                name = f"{rng.choice(COMPANY_FORMS)} {place} {structure}"
            company = category not in ("", "individual_farmer")
            pacage = ""
            if category:
                number = next_pacage[departement.pacage]
                next_pacage[departement.pacage] = number + 1
                pacage = f"{departement.pacage}{number % 1_000_000:06d}"
            tax_regime = rng.choice(TAX_REGIMES)
            vat = vat_number_for(siren) if tax_regime in ("vat_receipts", "vat_debits") else ""
            street = rng.choice(STREETS).format(place=place)
            address = street if street[0].isupper() or street.startswith("lieu") else f"{rng.randint(1, 60)} {street}"
            if departement.phone_area:
                phone = f"+33{departement.phone_area}{rng.choice('1234578')}{rng.randrange(10**7):07d}"
            else:
                phone = ""
            created = plan.at(plan.created[structure])
            updated = plan.at(rng.randrange(0, plan.created[structure] + 1))
            yield (
                structure + 1, "siret", siret, name, f"RCS {city} {siren}" if company else "", vat, structure_type,
                f"contact{structure}@exemple.fr" if rng.random() < 0.6 else "",
                "active" if rng.random() < 0.98 else "inactive", tax_regime, address,
                "BP 12" if rng.random() < 0.05 else "", "", postal_code, city, "FR",
                phone if rng.random() < 0.8 else "", "", category, pacage, centre, created, updated,
            )  # fmt: skip

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
                account = f"{rng.randrange(10_000):04d}{pk % 10_000_000:07d}"
                iban = french_iban(bank, f"{rng.randrange(100_000):05d}", account)
                age = rng.randrange(0, plan.created[structure] + 1)
                if structure == 0:
                    self.bank_account_ids.append(pk)
                yield (
                    pk, structure + 1, labels[number], iban, bics[bank], self.rib_name,
                    rng.choice(("RIB.pdf", "rib.pdf", f"RIB {labels[number]}.pdf", "scan_rib.pdf")),
                    "application/pdf", number == 0, plan.main_manager[structure] + 1, plan.at(age), plan.at(age),
                )  # fmt: skip

    def approval_requests(self):
        plan = self.plan
        for pk, (state, requester, structure, age, decided, decided_by, comment, reason) in enumerate(
            plan.requests, start=1
        ):
            yield (
                pk, "attachment", STATES[state], requester + 1, structure + 1, comment, plan.at(age),
                None if decided_by is None else decided_by + 1, None if decided is None else plan.at(decided), reason,
            )  # fmt: skip


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
}  # fmt: skip


def columns_for(model, names: list[str]) -> tuple[list[str], list]:
    """The table's columns: ours, then any field added to the model since, filled with its default.

    A new field without a default stops the command with a clear message
    instead of a NOT NULL error halfway through a million rows.
    """
    fields = {f.attname: f for f in model._meta.concrete_fields}
    unknown = set(names) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no field {', '.join(sorted(unknown))}: update structures/seeding.py.")
    extra = []
    for name, model_field in fields.items():
        if name in names:
            continue
        if not model_field.has_default() and not model_field.null and not model_field.blank:
            raise ValueError(f"{model.__name__}.{name} has no default: structures/seeding.py must fill it.")
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


def store_placeholder(storage) -> str:
    """Saves the placeholder RIB once in the private storage; every seeded bank account names it."""
    if not storage.exists(RIB_PLACEHOLDER):
        return storage.save(RIB_PLACEHOLDER, ContentFile(placeholder_pdf()))
    return RIB_PLACEHOLDER
