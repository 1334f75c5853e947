import functools
import io
import struct
import zlib

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

# A real Crédit Agricole IBAN format (BIC AGRIFRPPXXX), and one of La Banque Postale.
IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "FR1420041010050500013M02606"


def pdf_bytes(pages: int = 1, arm=None) -> bytes:
    """A PDF of blank pages; `arm(pdf)` may add what a forger would before it is saved."""
    with pikepdf.new() as pdf:
        for _ in range(pages):
            pdf.add_blank_page()
        if arm is not None:
            arm(pdf)
        output = io.BytesIO()
        pdf.save(output)
        return output.getvalue()


PDF = pdf_bytes()


def arm_pdf(pdf: pikepdf.Pdf) -> None:
    """What a forged RIB carries: JavaScript run at opening, a page's automatic action, an embedded
    program, a file attached to a page, a link that launches a program, and one to a web address."""
    Dictionary, Name, String = pikepdf.Dictionary, pikepdf.Name, pikepdf.String
    script = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String("app.alert('RIB modifié')")))
    pdf.Root.OpenAction = script
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=pikepdf.Array([String("ouverture"), script])))
    pdf.pages[0].AA = Dictionary(O=Dictionary(S=Name.JavaScript, JS=String("this.submitForm('https://x.test')")))
    pdf.attachments["facture.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ embedded program", filename="facture.exe")
    attached = pikepdf.AttachedFileSpec(pdf, b"MZ attached program", filename="annexe.exe")
    pdf.pages[-1].Annots = pdf.make_indirect(
        pikepdf.Array(
            [
                Dictionary(Type=Name.Annot, Subtype=Name.FileAttachment, Rect=[0, 0, 20, 20], FS=attached.obj),
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[0, 20, 20, 40],
                    A=Dictionary(S=Name.Launch, F=String("cmd.exe")),
                ),
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[0, 40, 20, 60],
                    A=Dictionary(S=Name.URI, URI=String("https://x.test")),
                ),
                Dictionary(
                    Type=Name.Annot,
                    Subtype=Name.Link,
                    Rect=[0, 60, 20, 80],
                    Dest=pikepdf.Array([pdf.pages[0].obj, Name.Fit]),
                ),
            ]
        )
    )


def image_bytes(fmt: str = "PNG", size=(60, 40)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, "white").save(output, format=fmt)
    return output.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int, extra: bytes = b"") -> bytes:
    """A tiny PNG whose header announces width × height pixels (a "pixel flood", a decompression bomb's header)."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    data = png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
    return b"\x89PNG\r\n\x1a\n" + header + extra + data + png_chunk(b"IEND", b"")


@functools.cache
def png_of(width: int, height: int) -> bytes:
    """A real PNG, white, of width × height pixels: what a « pixel flood » sends (40 Mpx in 127 KB)."""
    row = b"\x00" + b"\xff" * 3 * width  # the row's filter byte, then its pixels
    compressor = zlib.compressobj(6)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + png_chunk(b"IDAT", data) + png_chunk(b"IEND", b"")


def upload(content: bytes = PDF, name: str = "rib.pdf", content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def with_checksum(country: str, bban: str) -> str:
    """An IBAN whose international checksum is right, whatever the BBAN holds."""
    digits = "".join(str(int(char, 36)) for char in bban + country + "00")
    return f"{country}{98 - int(digits) % 97:02d}{bban}"


@pytest.fixture(autouse=True)
def _private_media(private_media):
    pass


@pytest.fixture
def bank_account_data(farm):
    def make(**overrides):
        data = {
            "label": "Compte courant",
            "structure": farm.pk,
            "iban": "FR76 3000 6000 0112 3456 7890 189",
            "bic": "AGRIFRPP",
            "rib_file": upload(),
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}

    return make
