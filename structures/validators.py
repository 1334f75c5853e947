import re

from django.core.exceptions import ValidationError
from schwifty import BIC, IBAN
from schwifty import exceptions as schwifty_errors
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret, tva

# People often know their SIREN (the company's) better than the SIRET (one establishment of it).
SIREN_INSTEAD_OF_SIRET = (
    "Vous avez saisi 9 chiffres : c'est un SIREN, le numéro de l'entreprise. Le SIRET est celui de "
    "l'établissement : ce SIREN suivi des 5 chiffres du NIC de l'établissement, soit 14 chiffres. Il figure "
    "sur l'avis de situation au répertoire SIRENE ou sur l'extrait Kbis."
)


def clean_siret(value: str) -> str:
    """Return the SIRET as 14 digits, or raise a French message saying what is wrong.

    python-stdnum checks the Luhn key, and La Poste's rule for SIREN 356000000.
    """
    try:
        return siret.validate(value)
    except stdnum_errors.InvalidLength:  # before InvalidFormat, its parent class
        digits = siret.compact(value)
        if len(digits) == 9 and digits.isdigit():
            raise ValidationError(SIREN_INSTEAD_OF_SIRET, code="siret_is_siren") from None
        raise ValidationError("Le SIRET compte exactement 14 chiffres.", code="siret_length")
    except stdnum_errors.InvalidFormat:
        raise ValidationError("Le SIRET ne doit contenir que des chiffres (14 chiffres).", code="siret_format")
    except stdnum_errors.InvalidChecksum:
        raise ValidationError(
            "Ce SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez les 14 chiffres.",
            code="siret_checksum",
        )
    except stdnum_errors.ValidationError:
        raise ValidationError("Ce SIRET n'est pas valide.", code="siret_invalid")


def clean_french_postal_code(value: str) -> str:
    value = "".join(value.split())
    if not re.fullmatch(r"[0-9]{5}", value) or value.startswith("00"):
        raise ValidationError("Le code postal compte 5 chiffres, par exemple 26000.", code="postal_code_invalid")
    return value


def vat_number_for(siren: str) -> str:
    """The French intra-community VAT number of a SIREN: FR, a two-digit key, the SIREN (python-stdnum)."""
    return "FR" + stdnum_siren.to_tva(siren)


def clean_vat_number(value: str, siren: str) -> str:
    """A French VAT number, valid (python-stdnum) and built on the structure's own SIREN."""
    expected = vat_number_for(siren)
    try:
        number = tva.validate(value)
    except stdnum_errors.ValidationError:
        raise ValidationError(
            "Ce numéro de TVA intracommunautaire n'est pas valide. Celui de votre structure est %(expected)s.",
            code="vat_invalid",
            params={"expected": expected},
        )
    if number[2:] != siren:
        raise ValidationError(
            "Ce numéro de TVA ne correspond pas au SIREN %(siren)s de la structure. Celui de votre structure "
            "est %(expected)s.",
            code="vat_siren_mismatch",
            params={"siren": siren, "expected": expected},
        )
    return "FR" + number  # python-stdnum returns it without the country prefix


# The départements that issue PACAGE numbers: 001–095 in metropolitan France
# (Corsica's DDT numbers as 020), 971–976 overseas.
PACAGE_DEPARTEMENTS = {f"{n:03d}" for n in range(1, 96)} | {"971", "972", "973", "974", "976"}


def clean_pacage(value: str) -> str:
    """A PACAGE number: 9 digits, the first three the département of the DDT(M) that issued it."""
    value = "".join(value.split())
    if not value.isdigit() or not value.isascii():
        raise ValidationError("Le numéro PACAGE ne contient que des chiffres (9 chiffres).", code="pacage_format")
    if len(value) != 9:
        raise ValidationError(
            "Le numéro PACAGE compte exactement 9 chiffres (vous en avez saisi %(count)d).",
            code="pacage_length",
            params={"count": len(value)},
        )
    if value[:3] not in PACAGE_DEPARTEMENTS:
        raise ValidationError(
            "Le numéro PACAGE commence par le numéro du département de votre DDT(M) sur 3 chiffres "
            "(026 pour la Drôme, 974 pour La Réunion) : %(prefix)s n'en est pas un.",
            code="pacage_departement",
            params={"prefix": value[:3]},
        )
    return value


def clean_iban(value: str) -> IBAN:
    """An IBAN checked by schwifty (checksum, length, national BBAN format and key), in the SEPA zone."""
    compact = "".join(value.split()).upper()
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{8,30}", compact, flags=re.ASCII):
        raise ValidationError(
            "Un IBAN commence par le code du pays (FR pour la France) et 2 chiffres, suivis de lettres et de "
            "chiffres : 27 caractères en tout pour un compte en France.",
            code="iban_invalid",
        )
    try:
        iban = IBAN(compact, validate_bban=True)
    except schwifty_errors.InvalidCountryCode:
        raise ValidationError(
            "Cet IBAN ne commence pas par le code d'un pays de la zone SEPA (FR pour la France).",
            code="iban_country",
        )
    except schwifty_errors.InvalidLength:
        raise ValidationError(
            "Cet IBAN n'a pas la bonne longueur pour son pays (27 caractères pour un IBAN français).",
            code="iban_length",
        )
    except schwifty_errors.InvalidChecksumDigits:
        raise ValidationError(
            "Cet IBAN contient une erreur : sa clé de contrôle est fausse. Vérifiez chaque caractère.",
            code="iban_checksum",
        )
    except (schwifty_errors.InvalidBBANChecksum, schwifty_errors.InvalidStructure):
        raise ValidationError(
            "Cet IBAN ne respecte pas le format des comptes de son pays (clé RIB ou structure fausse).",
            code="iban_bban",
        )
    except (schwifty_errors.SchwiftyException, ValueError):
        raise ValidationError("Cet IBAN n'est pas valide.", code="iban_invalid")
    if not iban.in_sepa_zone:
        raise ValidationError(
            "Seuls les comptes tenus dans la zone SEPA sont acceptés ; ce pays (%(country)s) n'en fait pas partie.",
            code="iban_not_sepa",
            params={"country": iban.country_code},
        )
    return iban


def clean_bic(value: str, iban: IBAN | None) -> str:
    """A BIC in the right format, of the IBAN's country, and of its bank where schwifty knows it."""
    compact = "".join(value.split()).upper()
    try:
        bic = BIC(compact)
    except (schwifty_errors.SchwiftyException, ValueError):
        raise ValidationError(
            "Le BIC compte 8 ou 11 caractères : 4 lettres pour la banque, 2 pour le pays, 2 pour la ville, "
            "puis 3 facultatifs pour l'agence (par exemple AGRIFRPP).",
            code="bic_format",
        )
    if iban is not None:
        if bic.country_code != iban.country_code:
            raise ValidationError(
                "Ce BIC est celui d'une banque d'un autre pays (%(bic_country)s) que l'IBAN (%(iban_country)s).",
                code="bic_country",
                params={"bic_country": bic.country_code, "iban_country": iban.country_code},
            )
        expected = iban.bic
        if expected is not None and str(expected)[:4] != str(bic)[:4]:
            raise ValidationError(
                "Ce BIC n'est pas celui de la banque de l'IBAN, dont le BIC est %(expected)s.",
                code="bic_bank",
                params={"expected": str(expected)},
            )
    return str(bic)
