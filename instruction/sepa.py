"""The SEPA credit-transfer file (pain.001.001.03) that pays a batch of accepted refund requests.

One transfer per request, from the tax office's account (settings.PAYMENT_DEBTOR_*) to the holder, IBAN and BIC
the request was filed with (`bank_holder`, `bank_iban`, `bank_bic`), for its granted total, with its number as
remittance information and end-to-end id. Only the data frozen at filing is read, never the structure or its
current bank accounts: money goes where the farm said when it signed, even if an account was changed since
(QUALITY S15).
The file is checked against the schema sepaxml ships before it is returned.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree

from django.conf import settings
from sepaxml import SepaTransfer
from sepaxml.validation import try_valid_xml
from text_unidecode import unidecode

from refunds.models import RefundRequest

SCHEMA = "pain.001.001.03"
NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"}

# The EPC's « SEPA Latin » set, which every bank accepts in names and free text.
OUTSIDE_SEPA_LATIN = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


@dataclass(frozen=True)
class Transfer:
    name: str
    iban: str
    bic: str
    amount: Decimal
    remittance: str
    end_to_end: str


@dataclass(frozen=True)
class Parsed:
    message_id: str
    count: int
    control_sum: Decimal
    debtor_iban: str
    debtor_bic: str
    transfers: list[Transfer]


def sepa_latin(text: str, limit: int = 70) -> str:
    """« GAEC Élevage & Fils » → « GAEC Elevage et Fils »: transliterated, then cut to the field's length."""
    text = unidecode(text.replace("&", " et "))
    return " ".join(OUTSIDE_SEPA_LATIN.sub(" ", text).split())[:limit].strip()


def creditor_name(request: RefundRequest) -> str:
    """The account's holder as filed, in the SEPA Latin set; its SIRET when nothing of the name is left."""
    return sepa_latin(request.bank_holder) or f"SIRET {request.structure.siret}"


def cents(amount: Decimal | None) -> int:
    """1234.56 → 123456, exactly; a missing, non-positive or sub-cent amount is refused."""
    if amount is None or amount <= 0 or (amount * 100) % 1:
        raise ValueError(f"Montant à virer invalide : {amount}.")
    return int(amount * 100)


def build(*, message_id: str, requests: list[RefundRequest], execution_date: date) -> bytes:
    """The pain.001.001.03 file paying `requests` on `execution_date`; raises ValueError on a request it cannot pay."""
    if not requests:
        raise ValueError("Aucune demande à payer.")
    transfer = SepaTransfer(
        {
            "name": sepa_latin(settings.PAYMENT_DEBTOR_NAME),
            "IBAN": settings.PAYMENT_DEBTOR_IBAN,
            "BIC": settings.PAYMENT_DEBTOR_BIC,
            "batch": True,
            "currency": "EUR",
        },
        SCHEMA,
    )
    # sepaxml 2.7 draws a random message id; the bank must see the batch's number.
    transfer._xml.find("CstmrCdtTrfInitn/GrpHdr/MsgId").text = message_id
    for request in requests:
        if not request.bank_iban:
            raise ValueError(f"La demande {request.number} n'a pas d'IBAN enregistré au dépôt.")
        payment = {
            "name": creditor_name(request),
            "IBAN": request.bank_iban,
            "amount": cents(request.total_granted),
            "execution_date": execution_date,
            "description": request.number,
            "endtoend_id": request.number,
        }
        if request.bank_bic:  # optional in SEPA since 2016; an empty BIC element would not validate
            payment["BIC"] = request.bank_bic
        transfer.add_payment(payment)
    return transfer.export(validate=True)


def validate(xml: bytes) -> None:
    """Raises sepaxml.validation.ValidationError when `xml` does not follow the pain.001.001.03 schema."""
    try_valid_xml(xml, SCHEMA)


def parse(xml: bytes) -> Parsed:
    """What a pain.001.001.03 file says: its header, its debtor and its transfers, amounts as Decimal."""
    root = ElementTree.fromstring(xml)  # noqa: S314 -- our own file; expat neither fetches entities nor expands bombs

    def text(node, path: str) -> str:
        found = node.find(path, NS)
        return found.text if found is not None else ""

    header = root.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    payment_info = root.find("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    return Parsed(
        message_id=text(header, "p:MsgId"),
        count=int(text(header, "p:NbOfTxs")),
        control_sum=Decimal(text(header, "p:CtrlSum")),
        debtor_iban=text(payment_info, "p:DbtrAcct/p:Id/p:IBAN"),
        debtor_bic=text(payment_info, "p:DbtrAgt/p:FinInstnId/p:BIC"),
        transfers=[
            Transfer(
                name=text(tx, "p:Cdtr/p:Nm"),
                iban=text(tx, "p:CdtrAcct/p:Id/p:IBAN"),
                bic=text(tx, "p:CdtrAgt/p:FinInstnId/p:BIC"),
                amount=Decimal(text(tx, "p:Amt/p:InstdAmt")),
                remittance=text(tx, "p:RmtInf/p:Ustrd"),
                end_to_end=text(tx, "p:PmtId/p:EndToEndId"),
            )
            for tx in root.iterfind("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", NS)
        ],
    )
