"""What an evidence upload may be: a size limit and a list of document types, each
recognised by its extension AND by the first bytes of the file, so a renamed
executable is not accepted as a PDF."""

from dataclasses import dataclass

ZIP = b"PK\x03\x04"


@dataclass(frozen=True)
class Kind:
    content_type: str
    magic: tuple[bytes, ...]  # empty: text, checked by decoding instead


KINDS = {
    "pdf": Kind("application/pdf", (b"%PDF-",)),
    "png": Kind("image/png", (b"\x89PNG\r\n\x1a\n",)),
    "jpg": Kind("image/jpeg", (b"\xff\xd8\xff",)),
    "jpeg": Kind("image/jpeg", (b"\xff\xd8\xff",)),
    "docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                 (ZIP,)),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (ZIP,)),
    "pptx": Kind("application/vnd.openxmlformats-officedocument.presentationml.presentation",
                 (ZIP,)),
    "csv": Kind("text/csv", ()),
    "txt": Kind("text/plain", ()),
}
ALLOWED = ", ".join(sorted(KINDS))


def recognise(file_name: str, head: bytes) -> Kind | None:
    """The kind of an upload from its name and first bytes, or None if not allowed."""
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    kind = KINDS.get(extension)
    if kind is None:
        return None
    if kind.magic:
        return kind if any(head.startswith(m) for m in kind.magic) else None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character may be cut at the end of the sample.
        if exc.start < len(head) - 3:
            return None
    return None if b"\x00" in head else kind
