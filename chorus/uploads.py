"""Uploaded documents (a RIB today, refund invoices next): the type found in the content, and only what is
safe to keep is stored.

Every upload goes through `clean_upload`, which `UploadField` calls on a form:

- the size is checked before anything is read;
- the type is decided by the first bytes, never by the name: PDF, PNG or JPEG;
- an image is refused past `UPLOAD_MAX_PIXELS` from its header, before it is decoded (a « pixel flood »
  PNG of 127 KB and 40 megapixels took 1.4 s and 300 MB to re-encode), then decoded and re-encoded, which
  drops whatever rode along (metadata, the trailing HTML of a polyglot);
- a PDF is rewritten by pikepdf (qpdf): its pages, with their form fields, are copied into a new document,
  which leaves out the document's opening action, scripts and embedded files; every automatic action,
  script, attached file and link out of the document is then removed from what the pages carry. qpdf
  decodes no more than `PDF_MAX_INFLATE` bytes of any stream it must read (a compressed bomb is refused
  as damaged) and copies the others as they are, undecoded; pages and objects are counted first.
"""

import io
import uuid
from dataclasses import dataclass

import pikepdf
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, ImageFile, ImageOps


@dataclass(frozen=True)
class CleanFile:
    """What may be stored: the content as rewritten, and its type as found in it."""

    content: File
    content_type: str


# What a stored document may be, the extension it is stored under, and how pages name its type.
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
FILE_TYPES = [("application/pdf", "PDF"), ("image/png", "image PNG"), ("image/jpeg", "image JPEG")]


def stored_name(content_type: str) -> str:
    """Where a document is stored: never the visitor's file name, but a random one with the extension of the
    type found in the content, spread over 256 folders (`ab/ab…ef.pdf`)."""
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}{EXTENSIONS[content_type]}"


SIGNATURES = {
    b"%PDF-": "application/pdf",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
}

# The streams qpdf must decode to read a PDF (object and cross-reference streams) are a few kilobytes in a
# real document; a flate bomb of 5 MB would inflate to 5 GB.
PDF_MAX_INFLATE = 20 * 1024 * 1024
pikepdf.settings.set_qpdf_limits(
    flate_max_memory=PDF_MAX_INFLATE,
    run_length_max_memory=PDF_MAX_INFLATE,
    png_max_memory=PDF_MAX_INFLATE,
    tiff_max_memory=PDF_MAX_INFLATE,
    dct_max_memory=PDF_MAX_INFLATE,
)

# A RIB has a page or two, an invoice a few; the rewriting walks every object in Python (about 13 µs each).
PDF_MAX_PAGES = 100
PDF_MAX_OBJECTS = 20_000

# A link to another page of the document stays; every other action (JavaScript, launching a program,
# opening an address, submitting a form, playing a medium, opening another file) goes.
SAFE_ACTIONS = {pikepdf.Name.GoTo}
# Keys whose value runs on its own or carries a file: automatic actions, scripts, embedded and associated files,
# XML forms (which carry their own scripts).
ACTIVE_KEYS = ["/AA", "/OpenAction", "/JS", "/JavaScript", "/EF", "/AF", "/EmbeddedFiles", "/Next", "/XFA"]
# Annotations that carry a file, a sound, a film, a 3D model or rich media: dropped from the pages.
ACTIVE_ANNOTATIONS = {
    pikepdf.Name(name) for name in ["/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"]
}


def clean_upload(uploaded: UploadedFile) -> CleanFile:
    """A PDF, PNG or JPEG of `UPLOAD_MAX_SIZE` at most, rewritten; or a French message saying what to do."""
    if uploaded.size > settings.UPLOAD_MAX_SIZE:
        raise ValidationError(
            "Le fichier ne doit pas dépasser %(max)s Mo (celui-ci fait %(size)s Mo).",
            code="file_too_large",
            params={"max": _french(settings.UPLOAD_MAX_SIZE / 2**20), "size": _french(uploaded.size / 2**20)},
        )
    uploaded.seek(0)
    head = uploaded.read(16)
    content_type = next((kind for magic, kind in SIGNATURES.items() if head.startswith(magic)), None)
    if content_type is None:
        raise ValidationError(
            "Le fichier « %(name)s » n'est ni un PDF, ni une image PNG ou JPEG, quel que soit son nom : "
            "enregistrez le document dans l'un de ces formats.",
            code="file_type",
            params={"name": uploaded.name},
        )
    uploaded.seek(0)
    if content_type == "application/pdf":
        return CleanFile(_rewritten_pdf(uploaded), content_type)
    return CleanFile(_reencoded_image(uploaded, content_type), content_type)


class UploadField(forms.FileField):
    """A document to upload; its cleaned value is the `CleanFile` to store (see `clean_upload`), or None."""

    def clean(self, data, initial=None):
        uploaded = super().clean(data, initial)
        return clean_upload(uploaded) if uploaded else None


def _french(number: float) -> str:
    """One decimal at most, written the French way: 12,5 ; 5."""
    return f"{number:.1f}".replace(".", ",").removesuffix(",0")


def _reencoded_image(uploaded: UploadedFile, content_type: str) -> File:
    # Pillow's tolerance of truncated files is a process-wide switch, and WeasyPrint (the refund receipt) turns
    # it on when it is imported: a truncated image, or a PNG text chunk past Pillow's limit, would then pass.
    # An upload is judged strictly whatever else the process rendered before.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(uploaded, formats=["PNG", "JPEG"]) as image:
            # Image.open reads the header only: the size is known before a single pixel is decoded.
            if image.width * image.height > settings.UPLOAD_MAX_PIXELS:
                raise _too_many_pixels(image.width * image.height)
            image.load()
            # Phones record the orientation in EXIF, which re-encoding drops: apply it first (in place, so
            # that the budget holds one copy of the pixels, not two).
            ImageOps.exif_transpose(image, in_place=True)
            output = io.BytesIO()
            if content_type == "image/png":
                image.save(output, format="PNG", compress_level=3)  # zlib's default (6) doubles the time
            else:
                image.save(output, format="JPEG", quality=90)
    except Image.DecompressionBombError:
        raise _too_many_pixels(None)
    except (OSError, SyntaxError, ValueError):
        raise ValidationError(
            "Cette image est endommagée ou illisible. Enregistrez de nouveau le document puis réessayez.",
            code="file_damaged",
        )
    return ContentFile(output.getvalue(), name=uploaded.name)


def _too_many_pixels(pixels: int | None) -> ValidationError:
    budget = _french(settings.UPLOAD_MAX_PIXELS / 1_000_000)
    found = f"{_french(pixels / 1_000_000)} millions de pixels" if pixels else "beaucoup trop de pixels"
    return ValidationError(
        "Cette image compte trop de pixels (%(found)s ; %(budget)s millions au plus). Photographiez ou numérisez "
        "le document en plus basse définition (300 dpi suffisent), ou envoyez-le en PDF.",
        code="image_too_many_pixels",
        params={"found": found, "budget": budget},
    )


def _rewritten_pdf(uploaded: UploadedFile) -> File:
    try:
        with pikepdf.open(io.BytesIO(uploaded.read())) as original:
            _check_pages(len(original.pages))
            # The cross-reference table's size is known once the file is open: most files too complex go here,
            # before their pages are copied; what the pages bring along is counted again once copied.
            _check_objects(original.trailer.get("/Size"))
            with pikepdf.new() as rewritten:
                rewritten.add_pages_from(original)  # with their form fields and the destinations of their links
                _check_objects(len(rewritten.objects))
                for item in rewritten.objects:
                    _disarm(item)
                output = io.BytesIO()
                # Streams are copied as they came (never decoded): no bomb in a page can go off here.
                rewritten.save(
                    output, min_version=original.pdf_version, stream_decode_level=pikepdf.StreamDecodeLevel.none
                )
    except pikepdf.PasswordError:
        raise ValidationError(
            "Ce PDF est protégé par un mot de passe. Enregistrez-le sans protection puis réessayez.",
            code="pdf_encrypted",
        )
    except (pikepdf.PikepdfError, RuntimeError, ValueError):  # qpdf's own errors, and numbers out of its range
        raise ValidationError(
            "Ce fichier PDF est endommagé ou illisible. Enregistrez de nouveau le document en PDF puis réessayez.",
            code="file_damaged",
        )
    return ContentFile(output.getvalue(), name=uploaded.name)


def _check_pages(count: int) -> None:
    if count == 0:
        raise ValidationError(
            "Ce PDF ne contient aucune page. Enregistrez de nouveau le document en PDF puis réessayez.",
            code="pdf_empty",
        )
    if count > PDF_MAX_PAGES:
        raise ValidationError(
            "Ce PDF compte %(count)d pages ; %(max)d au plus. Envoyez seulement les pages du document demandé.",
            code="pdf_too_many_pages",
            params={"count": count, "max": PDF_MAX_PAGES},
        )


def _check_objects(count) -> None:
    if isinstance(count, int) and count > PDF_MAX_OBJECTS:
        raise ValidationError(
            "Ce PDF est trop complexe pour être vérifié. Imprimez-le de nouveau en PDF ou numérisez-le, puis "
            "réessayez.",
            code="pdf_too_complex",
        )


def _disarm(item) -> None:
    """Removes the active content of one object of the rewritten PDF and of the objects written inside it.

    Objects of their own (indirect) come each in turn from `rewritten.objects`; those written inside
    another (direct) are walked here, without recursion: a hostile file nests them hundreds deep.
    """
    pending = [item]
    while pending:
        current = pending.pop()
        if isinstance(current, pikepdf.Stream):
            current = current.stream_dict
        if isinstance(current, pikepdf.Array):
            pending.extend(child for child in current if _written_inside(child))
            continue
        if not isinstance(current, pikepdf.Dictionary):
            continue
        for key in ACTIVE_KEYS:
            if key in current:
                del current[key]
        if "/A" in current and _name_of(current.get("/A"), "/S") not in SAFE_ACTIONS:
            del current["/A"]
        annotations = current.get("/Annots")
        if isinstance(annotations, pikepdf.Array):
            current.Annots = pikepdf.Array(
                annotation for annotation in annotations if _name_of(annotation, "/Subtype") not in ACTIVE_ANNOTATIONS
            )
        pending.extend(child for child in current.values() if _written_inside(child))


def _written_inside(item) -> bool:
    return isinstance(item, pikepdf.Array | pikepdf.Dictionary) and not item.is_indirect


def _name_of(item, key: str) -> pikepdf.Name | None:
    """The name under `key` of a dictionary (/GoTo), compared as bytes: a hostile name need not be UTF-8."""
    value = item.get(key) if isinstance(item, pikepdf.Dictionary) else None
    return value if isinstance(value, pikepdf.Name) else None
