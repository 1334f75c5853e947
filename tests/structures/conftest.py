import io
import struct
import zlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

# A real Crédit Agricole IBAN format (BIC AGRIFRPPXXX), and one of La Banque Postale.
IBAN = "FR7630006000011234567890189"
OTHER_IBAN = "FR1420041010050500013M02606"

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


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
