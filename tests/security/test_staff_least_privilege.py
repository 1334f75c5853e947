"""S11, issue 15 finding 2: in the admin, no staff member changes who acts for a structure or where its money goes.

A member of the « Support » group and a superuser post every admin form that shows (or could be forged to carry)
a membership's user, structure or role, a user's login or contact address, or a field of bank details: the
models' own pages, the inlines of a structure's and a user's page, adding, deleting one at a time and from the
list, and deleting a user or a structure that still has memberships (they would end silently). Each form is
posted as the browser posts the page it was shown, with one value changed, or added where the page has no input
for it. The database keeps every membership, address and bank detail as it was, and nothing is mailed: roles
change through « Nommer gestionnaire principal » and « Détacher », addresses through a confirmed link
(tests/accounts/test_address_changes.py), bank details on the site.

A refund request carries where its money goes (the bank details frozen when it was sent) and what is owed: its
page, its lines and its deletion are tried the same way (S15); the admin lets nobody change one.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from post_office.models import Email

from accounts.models import AddressChange, User
from refunds.models import RefundLine, RefundRequest
from structures.models import BankAccount, Membership
from tests import factories
from tests.audit.test_admin_audit import page_data
from tests.factories import (
    BankAccountFactory,
    MembershipFactory,
    RefundLineFactory,
    RefundRequestFactory,
    StructureFactory,
    UserFactory,
)
from tests.structures.conftest import OTHER_IBAN, PDF

PERSONAS = ["support_group", "superuser"]
PIRATE = "pirate@exemple.fr"
MEMBERSHIPS, BANK_ACCOUNTS, REFUND_LINES = "memberships", "bank_accounts", "lines"  # the inlines' prefixes

# A changed value for every field of bank details the admin could be made to carry (the RIB is a new file).
BANK_VALUES: dict[str, Callable] = {
    "structure": lambda w: w.other_farm.pk,
    "label": lambda w: "Compte du pirate",
    "iban": lambda w: OTHER_IBAN,
    "bic": lambda w: "PSSTFRPPXXX",
    "is_default": lambda w: "",  # unticked
    "rib": lambda w: SimpleUploadedFile("pirate.pdf", PDF, content_type="application/pdf"),
    "rib_filename": lambda w: "pirate.pdf",
    "rib_content_type": lambda w: "image/png",
    "created_by": lambda w: w.outsider.pk,
    "created_at": lambda w: "2020-01-01 00:00:00",
    "updated_at": lambda w: "2020-01-01 00:00:00",
}
MEMBERSHIP_VALUES: dict[str, Callable] = {
    "user": lambda w: w.outsider.pk,
    "structure": lambda w: w.other_farm.pk,
    "role": lambda w: Membership.Role.MANAGER,
}
MEMBERSHIP_CHANGES = {
    "user": {"user": MEMBERSHIP_VALUES["user"]},
    "structure": {"structure": MEMBERSHIP_VALUES["structure"]},
    "role: manager": {"role": MEMBERSHIP_VALUES["role"]},
    "role: main manager": {"role": lambda w: Membership.Role.MAIN_MANAGER},
}
USER_VALUES = {"email": PIRATE, "contact_email": PIRATE}
# A sent request: where its money goes, what it asks and grants, whose it is.
REFUND_VALUES: dict[str, Callable] = {
    "structure": lambda w: w.other_farm.pk,
    "status": lambda w: RefundRequest.Status.ACCEPTED,
    "bank_account": lambda w: w.pirate_account.pk,
    "bank_label": lambda w: "Compte du pirate",
    "bank_iban": lambda w: OTHER_IBAN,
    "bank_bic": lambda w: "PSSTFRPPXXX",
    "total_asked": lambda w: "99999.00",
    "total_granted": lambda w: "99999.00",
}
LINE_VALUES: dict[str, Callable] = {"quantity": lambda w: "99999", "amount": lambda w: "99999.00"}


@pytest.fixture
def w(db, private_media):
    """Farm A: its main manager (with a contact address), a simple user, bank details. Farm B. An outsider."""
    farm, other_farm = StructureFactory(name="EARL A"), StructureFactory(name="GAEC B")
    manager = MembershipFactory(
        structure=farm, role=Membership.Role.MAIN_MANAGER, user__contact_email="compta@earl-a.fr"
    ).user
    attached = MembershipFactory(structure=farm, role=Membership.Role.USER)
    support_group = UserFactory(first_name="Denise", is_staff=True)
    support_group.groups.add(factories.support_group())
    account = BankAccountFactory(structure=farm, label="Compte courant", created_by=manager)
    factories.refund_reference_data()
    refund_request = RefundRequestFactory(
        structure=farm,
        status=RefundRequest.Status.FILED,
        number="TIC-2023-000001",
        bank_account=account,
        bank_label=account.label,
        bank_iban=account.iban,
        bank_bic=account.bic,
    )
    return SimpleNamespace(
        farm=farm,
        other_farm=other_farm,
        manager=manager,
        attached=attached,
        outsider=UserFactory(email="dehors@exemple.fr"),
        account=account,
        pirate_account=BankAccountFactory(structure=other_farm, iban=OTHER_IBAN),
        refund_request=refund_request,
        refund_line=RefundLineFactory(request=refund_request),
        staff={"support_group": support_group, "superuser": UserFactory(is_staff=True, is_superuser=True)},
    )


def state() -> dict:
    """Who belongs where in which role, every address, every field of bank details, and the mail queued."""
    bank_fields = [field.attname for field in BankAccount._meta.concrete_fields]
    refund_fields = [field.attname for field in RefundRequest._meta.concrete_fields]
    line_fields = [field.attname for field in RefundLine._meta.concrete_fields]
    return {
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "user", "structure", "role")),
        "addresses": list(User.objects.order_by("pk").values_list("pk", "email", "contact_email")),
        "bank details": list(BankAccount.objects.order_by("pk").values_list(*bank_fields)),
        "refund requests": list(RefundRequest.objects.order_by("pk").values_list(*refund_fields)),
        "refund lines": list(RefundLine.objects.order_by("pk").values_list(*line_fields)),
        "address changes": AddressChange.objects.count(),
        "mail": Email.objects.count(),
    }


def url(obj, page: str) -> str:
    meta = obj._meta
    return reverse(
        f"admin:{meta.app_label}_{meta.model_name}_{page}", args=[] if page in ("add", "changelist") else [obj.pk]
    )


def shown(browser, address: str) -> dict:
    """What the page posts as shown to this persona; a page it may not open posts nothing but the forged values."""
    response = browser.get(address)
    return page_data(response) if response.status_code == 200 else {}


def inline_row(data: dict, prefix: str, pk: int) -> str:
    """The row of object `pk` in the inline; the page of a persona who may not read the inline has none: forged."""
    rows = range(int(data.get(f"{prefix}-TOTAL_FORMS", 0)))
    found = [f"{prefix}-{n}" for n in rows if data.get(f"{prefix}-{n}-id") == str(pk)]
    if found:
        return found[0]
    data.update({f"{prefix}-TOTAL_FORMS": "1", f"{prefix}-INITIAL_FORMS": "1", f"{prefix}-0-id": str(pk)})
    return f"{prefix}-0"


def added_row(data: dict, prefix: str, **fields) -> dict:
    n = int(data.get(f"{prefix}-TOTAL_FORMS", 0))
    data.setdefault(f"{prefix}-INITIAL_FORMS", "0")
    data[f"{prefix}-TOTAL_FORMS"] = str(n + 1)
    data.update({f"{prefix}-{n}-{name}": value for name, value in fields.items()})
    return data


@dataclass(frozen=True)
class Case:
    name: str
    post: Callable  # (browser, world) -> (url, data)


def page_with(obj: Callable, **changes: Callable) -> Callable:
    """The object's admin page, posted with these fields changed."""

    def post(browser, w):
        target = obj(w)
        data = shown(browser, url(target, "change"))
        data.update({name: value(w) for name, value in changes.items()})
        return url(target, "change"), data

    return post


def inline_with(page: Callable, prefix: str, row: Callable, **changes: Callable) -> Callable:
    """A page's inline, posted with the row of `row` changed (`DELETE` ticked is a change too)."""

    def post(browser, w):
        target = page(w)
        data = shown(browser, url(target, "change"))
        at = inline_row(data, prefix, row(w).pk)
        data.update({f"{at}-{name}": value(w) for name, value in changes.items()})
        return url(target, "change"), data

    return post


def inline_added(page: Callable, prefix: str, **fields: Callable) -> Callable:
    def post(browser, w):
        target = page(w)
        data = shown(browser, url(target, "change"))
        return url(target, "change"), added_row(data, prefix, **{name: value(w) for name, value in fields.items()})

    return post


def deleted(obj: Callable) -> Callable:
    return lambda browser, w: (url(obj(w), "delete"), {"post": "yes"})


def deleted_from_list(obj: Callable) -> Callable:
    def post(browser, w):
        target = obj(w)
        return url(target, "changelist"), {"action": "delete_selected", "_selected_action": [target.pk], "post": "yes"}

    return post


def added(model_obj: Callable, values: dict[str, Callable]) -> Callable:
    return lambda browser, w: (url(model_obj(w), "add"), {name: value(w) for name, value in values.items()})


def attached_membership(w):
    return w.attached


def account(w):
    return w.account


def farm(w):
    return w.farm


def attached_user(w):
    return w.attached.user


def refund_request(w):
    return w.refund_request


CASES = [
    # Memberships: their own pages.
    *[
        Case(f"membership page: {name}", page_with(attached_membership, **change))
        for name, change in MEMBERSHIP_CHANGES.items()
    ],
    Case(
        "membership added",
        added(
            attached_membership, MEMBERSHIP_VALUES | {"user": lambda w: w.outsider.pk, "structure": lambda w: w.farm.pk}
        ),
    ),
    Case("membership deleted", deleted(attached_membership)),
    Case("memberships deleted from the list", deleted_from_list(attached_membership)),
    # Memberships: a structure's inline (the structure is the page's), a user's (the user is the page's).
    *[
        Case(
            f"{page} page, memberships inline: {name}", inline_with(page_of, MEMBERSHIPS, attached_membership, **change)
        )
        for page, page_of, implied in [("structure", farm, "structure"), ("user", attached_user, "user")]
        for name, change in [*MEMBERSHIP_CHANGES.items(), ("DELETE", {"DELETE": lambda w: "on"})]
        if name != implied
    ],
    Case(
        "structure page, memberships inline: row added",
        inline_added(farm, MEMBERSHIPS, user=lambda w: w.outsider.pk, role=lambda w: Membership.Role.MANAGER),
    ),
    Case(
        "user page, memberships inline: row added",
        inline_added(
            attached_user, MEMBERSHIPS, structure=lambda w: w.other_farm.pk, role=lambda w: Membership.Role.MANAGER
        ),
    ),
    # Deleting what holds memberships would end them without a word to anyone.
    Case("user with memberships deleted", deleted(attached_user)),
    Case("users with memberships deleted from the list", deleted_from_list(attached_user)),
    Case("structure with memberships deleted", deleted(farm)),
    Case("structures with memberships deleted from the list", deleted_from_list(farm)),
    # Addresses: a simple user's, and the main manager's, where the structure's warnings go.
    *[
        Case(f"user page: {name}", page_with(attached_user, **{name: lambda w, v=value: v}))
        for name, value in USER_VALUES.items()
    ],
    *[
        Case(f"main manager's page: {name}", page_with(lambda w: w.manager, **{name: lambda w, v=value: v}))
        for name, value in USER_VALUES.items()
    ],
    # Bank details: their own pages, every field.
    *[Case(f"bank account page: {name}", page_with(account, **{name: value})) for name, value in BANK_VALUES.items()],
    Case("bank account added", added(account, BANK_VALUES | {"is_default": lambda w: "on"})),
    Case("bank account deleted", deleted(account)),
    Case("bank accounts deleted from the list", deleted_from_list(account)),
    # Bank details: a structure's inline, every field.
    *[
        Case(f"structure page, bank details inline: {name}", inline_with(farm, BANK_ACCOUNTS, account, **{name: value}))
        for name, value in [*BANK_VALUES.items(), ("DELETE", lambda w: "on")]
        if name != "structure"  # the inline's own link to the page
    ],
    Case(
        "structure page, bank details inline: row added",
        inline_added(
            farm, BANK_ACCOUNTS, **{name: value for name, value in BANK_VALUES.items() if name != "structure"}
        ),
    ),
    # A sent request: its page, its lines, adding and deleting one.
    *[
        Case(f"refund request page: {name}", page_with(refund_request, **{name: value}))
        for name, value in REFUND_VALUES.items()
    ],
    *[
        Case(
            f"refund request page, lines inline: {name}",
            inline_with(refund_request, REFUND_LINES, lambda w: w.refund_line, **{name: value}),
        )
        for name, value in [*LINE_VALUES.items(), ("DELETE", lambda w: "on")]
    ],
    Case("refund request added", added(refund_request, REFUND_VALUES | {"year": lambda w: 2022})),
    Case("refund request deleted", deleted(refund_request)),
    Case("refund requests deleted from the list", deleted_from_list(refund_request)),
]


def test_the_matrix_covers_every_field_of_memberships_and_bank_details():
    """A field added to either model must get a row here (and be read-only in the admin)."""
    editable = {field.name for field in BankAccount._meta.concrete_fields if not field.primary_key}
    assert set(BANK_VALUES) == editable
    membership_fields = {field.name for field in Membership._meta.concrete_fields if not field.primary_key}
    assert set(MEMBERSHIP_VALUES) == membership_fields - {"created_at"}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_staff_change_no_membership_address_nor_bank_detail(w, persona, case, mailoutbox):
    browser = Client(raise_request_exception=False)
    browser.force_login(w.staff[persona])
    address, data = case.post(browser, w)
    before = state()

    response = browser.post(address, data)

    # Refused (403), or the page saved without the change (302), or a list without such an action (200).
    assert response.status_code in (200, 302, 403), response.status_code
    assert not response.get("Location", "").startswith(reverse("admin:login"))
    assert state() == before
    assert mailoutbox == []
