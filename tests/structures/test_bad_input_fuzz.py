"""Whatever is typed into the forms of steps 3–4: a page with named errors or a clean save, never a 500."""

from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from structures.forms import StructureForm
from structures.models import BankAccount, Structure
from tests.structures.conftest import upload

STRUCTURE_FIELDS = StructureForm.Meta.fields
typed = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
no_nul = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\x00"), max_size=300)
# The test client cannot send a file named "/" or ".." (a browser cannot either): the name's last part.
file_names = no_nul.map(lambda name: name.replace("\\", "/").rsplit("/", 1)[-1].strip(".") or "rib")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(values=st.fixed_dictionaries({}, optional={field: typed for field in STRUCTURE_FIELDS}))
def test_modifier_une_structure_never_fails_on_what_is_typed(sign_in, manager, farm, values):
    before = Structure.objects.filter(pk=farm.pk).values().get()

    response = sign_in(manager).post(reverse("structures:update", args=[farm.pk]), values)

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert response.context["form"].errors
        assert Structure.objects.filter(pk=farm.pk).values().get() == before


@FUZZ
@given(
    values=st.fixed_dictionaries({}, optional={"label": no_nul, "structure": typed, "iban": typed, "bic": typed}),
    content=st.binary(max_size=2048),
    filename=file_names,
)
def test_creer_une_coordonnee_bancaire_never_fails_on_what_is_sent(sign_in, manager, farm, values, content, filename):
    count = BankAccount.objects.count()
    files = {"rib_file": upload(content, name=filename)} if content else {}

    response = sign_in(manager).post(reverse("structures:bank_account_create"), {**values, **files})

    assert response.status_code == 200
    assert response.context["form"].errors
    assert BankAccount.objects.count() == count
