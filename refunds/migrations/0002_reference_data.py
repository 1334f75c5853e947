"""The products, rates and campaigns the portal ships with; staff add the next years in the admin.

Rates (deliveries of the year) as the tax administration published them for the partial refund of TICPE
and TICGN to farmers: the customs notices « Remboursement partiel de la TICPE et de la TICGN aux
exploitants agricoles » of each campaign (douane.gouv.fr) and the Ministry of Agriculture's notices
for the same campaigns. No rate is shipped for 2020, nor for natural gas as engine fuel in 2019.

Campaigns close on 31 December of the third year after the deliveries (the limitation period of the
refund); gazole non routier 2022 closed earlier, on 31 December 2024. Filing opens on 1 January of the
year after the deliveries here: staff set the real date of each campaign. The de minimis ceiling is
20,000 € over three fiscal years (Regulation (EU) No 1408/2013 for agriculture, as amended in 2019).
"""

from datetime import date
from decimal import Decimal

from django.db import migrations

PRODUCTS = [
    # code, name, invoice unit, rate unit, invoice units per rate unit, de minimis
    ("gnr", "Gazole non routier", "litres", "€/hl", "100", False),
    ("fioul-lourd", "Fioul lourd", "kg", "€/100 kg", "100", True),
    ("gpl", "GPL", "kg", "€/100 kg", "100", True),
    ("gaz-naturel-combustible", "Gaz naturel combustible", "MWh PCS", "€/MWh", "1", True),
    ("gaz-naturel-carburant", "Gaz naturel carburant", "MWh", "€/MWh", "1", True),
]

RATES = {
    2019: ["14.96", "13.765", "5.72", "8.331", None],
    2021: ["14.96", "13.765", "5.72", "7.89", "4.69"],
    2022: ["14.96", "13.765", "5.72", "7.87", "4.69"],
    2023: ["14.96", "13.76", "5.72", "7.83", "4.69"],
}

EARLY_CLOSINGS = {(2022, "gnr"): date(2024, 12, 31)}


def ship(apps, schema_editor):
    Product = apps.get_model("refunds", "Product")
    Rate = apps.get_model("refunds", "Rate")
    Campaign = apps.get_model("refunds", "Campaign")
    ProductClosing = apps.get_model("refunds", "ProductClosing")
    products = []
    for position, (code, name, invoice_unit, rate_unit, per, de_minimis) in enumerate(PRODUCTS, start=1):
        products.append(
            Product.objects.create(
                code=code,
                name=name,
                invoice_unit=invoice_unit,
                rate_unit=rate_unit,
                invoice_units_per_rate_unit=Decimal(per),
                is_de_minimis=de_minimis,
                position=position,
            )
        )
    for year, amounts in RATES.items():
        campaign = Campaign.objects.create(
            year=year,
            opens_on=date(year + 1, 1, 1),
            closes_on=date(year + 3, 12, 31),
            de_minimis_ceiling=Decimal("20000.00"),
        )
        for product, amount in zip(products, amounts, strict=True):
            if amount is not None:
                Rate.objects.create(year=year, product=product, amount=Decimal(amount))
            if closes_on := EARLY_CLOSINGS.get((year, product.code)):
                ProductClosing.objects.create(campaign=campaign, product=product, closes_on=closes_on)


def unship(apps, schema_editor):
    for name in ["ProductClosing", "Campaign", "Rate", "Product"]:
        apps.get_model("refunds", name).objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("refunds", "0001_initial")]

    operations = [migrations.RunPython(ship, unship)]
