from django.core.exceptions import ValidationError
from stdnum import exceptions as stdnum_errors
from stdnum.fr import siret


def clean_siret(value: str) -> str:
    """Return the SIRET as 14 digits, or raise a French message saying what is wrong.

    python-stdnum checks the Luhn key, and La Poste's rule for SIREN 356000000.
    """
    try:
        return siret.validate(value)
    except stdnum_errors.InvalidLength:  # before InvalidFormat, its parent class
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
