"""Bundle names: what a musician may call a model, and close-name suggestions for typos.

A name doubles as the bundle's folder name in the library, so it must be a safe, portable file name:
no path separators, no traversal, no characters Windows or macOS refuse, no hidden dot-files.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable

from sda.library.errors import LibraryError

MAX_NAME_LENGTH = 64
# File systems cap a folder name at 255 bytes, and the library adds up to ~30 bytes around a name
# for its temporary folders (".<name>.tmp-1a2b3c4d"): letters of other scripts take 2-4 bytes each.
MAX_NAME_BYTES = 200

# Letters and digits of any script, plus space . _ - ( ) + , '  -- nothing a shell or a file system
# treats specially. The first character must be a letter or digit (no hidden ".x", no "-flag").
_ALLOWED_PUNCTUATION = set(" ._-()+,'")
# Names Windows reserves for devices, in any case and with any extension.
_RESERVED = (
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


class InvalidNameError(LibraryError):
    """A bundle name that cannot be used (empty, too long, a path, odd characters)."""


def validate_name(name: str) -> str:
    """Return `name` normalised (Unicode NFC, outer spaces stripped) or raise `InvalidNameError`."""
    if not isinstance(name, str):
        raise InvalidNameError(f"a bundle name must be text, got {type(name).__name__}")
    cleaned = unicodedata.normalize("NFC", name).strip()
    shown = repr(name)
    if not cleaned:
        raise InvalidNameError("a bundle name cannot be empty; pick a short name such as 'my kit'")
    if "/" in cleaned or "\\" in cleaned or ".." in cleaned:
        raise InvalidNameError(
            f"bundle name {shown} looks like a path; use a plain name without '/', '\\' or '..'"
        )
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"bundle name {shown} is {len(cleaned)} characters long; use at most {MAX_NAME_LENGTH}"
        )
    size = len(cleaned.encode("utf-8"))
    if size > MAX_NAME_BYTES:
        raise InvalidNameError(
            f"bundle name {cleaned[:20]!r}… takes {size} bytes on disk; use at most "
            f"{MAX_NAME_BYTES} bytes (fewer characters: letters of some scripts take up to 4 bytes)"
        )
    if not cleaned[0].isalnum():
        raise InvalidNameError(f"bundle name {shown} must start with a letter or a digit")
    bad = sorted({c for c in cleaned if not (c.isalnum() or c in _ALLOWED_PUNCTUATION)})
    if bad:
        listed = " ".join(repr(c) for c in bad)
        raise InvalidNameError(
            f"bundle name {shown} contains {listed}; use letters, digits, spaces and . _ - ( ) + , '"
        )
    if cleaned.endswith("."):
        raise InvalidNameError(f"bundle name {shown} cannot end with a dot")
    if cleaned.split(".")[0].lower().strip() in _RESERVED:
        raise InvalidNameError(f"bundle name {shown} is reserved by Windows; pick another name")
    return cleaned


def is_valid_name(name: str) -> bool:
    try:
        validate_name(name)
    except InvalidNameError:
        return False
    return True


def name_key(name: str) -> str:
    """The key two names collide on: folders are case-insensitive on macOS and Windows."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def suggest_names(name: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """Known names close to `name` (typos, wrong case, a missing word), best first."""
    known = list(known)
    by_key = {name_key(k): k for k in known}
    wanted = name_key(name)
    found = [
        by_key[k] for k in difflib.get_close_matches(wanted, list(by_key), n=limit, cutoff=0.6)
    ]
    # A known name that contains the request ("kit" -> "my kit") is a good guess difflib may miss.
    for key, original in by_key.items():
        if len(found) >= limit:
            break
        if wanted and wanted in key and original not in found:
            found.append(original)
    return found


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """A sentence for error messages: ' Did you mean "a" or "b"?' (empty when nothing is close)."""
    close = suggest_names(name, known)
    if not close:
        return ""
    quoted = [f'"{c}"' for c in close]
    joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" Did you mean {joined}?"
