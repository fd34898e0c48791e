"""Where benchmark results go: experiments/RESULTS.md, one "## Section" per subject.

Every benchmark files its entry at the end of its own section with `record`, so entries never land
under whichever section happens to be last in the file, and no run adds a second copy of a heading.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sda.atomic_files import write_bytes_atomic

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING_MARK = "## "


def record(section: str, text: str, path: Path = RESULTS) -> None:
    """Add the block `text` at the end of the section headed exactly `## {section}` in `path`
    (created at the end of the file, and the file itself, when missing), one blank line before
    and after it. Every other byte of the file stays as it was."""
    block = text.strip("\n").split("\n")
    if any(line.startswith(HEADING_MARK) for line in block):
        # A heading inside the block would split the section: the caller names it instead.
        raise ValueError(f"the text for {section!r} holds a '## ' heading; pass only the entry")
    # Bytes, not read_text: universal newlines would silently turn any CRLF in the file into LF.
    old = path.read_bytes().decode("utf-8") if path.exists() else ""
    content = _with_section(old, f"{HEADING_MARK}{section}")
    lines = content.split("\n")  # joined back with "\n", so untouched lines keep every byte
    at, followed_by_blank = _end_of_section(lines, f"{HEADING_MARK}{section}")
    lines[at:at] = ["", *block, *([] if followed_by_blank else [""])]
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else None
    # A temp file beside it, then os.replace: a crash or Ctrl-C mid-write never truncates the
    # results every benchmark shares.
    write_bytes_atomic(path, "\n".join(lines).encode("utf-8"))
    if mode is not None:
        os.chmod(path, mode)  # the temp file was made 0600; keep the file's own permissions


def _with_section(content: str, heading: str) -> str:
    """`content`, with `heading` appended after one blank line when no line is exactly it."""
    if _heading_index(content.split("\n"), heading) is not None:
        return content
    if not content:
        return heading + "\n"
    ending = "" if content.endswith("\n\n") else "\n" if content.endswith("\n") else "\n\n"
    return f"{content}{ending}{heading}\n"


def _heading_index(lines: list[str], heading: str) -> int | None:
    for index, line in enumerate(lines):
        if line.rstrip("\r") == heading:
            return index
    return None


def _end_of_section(lines: list[str], heading: str) -> tuple[int, bool]:
    """Where a new entry goes: the index just after the section's last non-blank line, and whether
    a blank line already follows there (else the entry brings its own)."""
    start = _heading_index(lines, heading)
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].startswith(HEADING_MARK)),
        len(lines),
    )
    last_text = end
    while last_text > start + 1 and not lines[last_text - 1].strip():
        last_text -= 1
    return last_text, last_text < end
