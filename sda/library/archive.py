"""Share a bundle as a .zip, and take one in without trusting it.

An imported zip may hold only the bundle's known files, at its top level or inside one folder; no
absolute or `..` paths, no links, no more than the size limits, and it must load as a valid bundle.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from sda.atomic_files import atomic_write
from sda.errors import SdaError
from sda.library.bundle import (
    _MAX_HEADER_BYTES,
    BUNDLE_FILES,
    CONFIG_FILE,
    META_FILE,
    check_bundle_folder,
    check_model_sizes,
    load_bundle_folder,
    read_json_file,
)
from sda.library.disk_space import check_free_space, disk_full_as_error
from sda.library.errors import LibraryError
from sda.library.weights_header import WeightsHeaderError, check_tensor_entries

MAX_WEIGHTS_BYTES = 1024**3  # codec / prior safetensors: 200 M parameters (the cap) in float32
MAX_SMALL_BYTES = 16 * 1024**2  # config.json, meta.json
MAX_PREVIEW_BYTES = 64 * 1024**2
MAX_TOTAL_BYTES = 2 * MAX_WEIGHTS_BYTES + MAX_PREVIEW_BYTES + 2 * MAX_SMALL_BYTES
# Unpacked / packed size of one member. Weights and ogg barely compress (sda stores them), JSON
# packs ~5-10x; a zip bomb packs 1000x. Small members are exempt: their caps are small anyway.
MAX_PACKING_RATIO = 50
RATIO_EXEMPT_BYTES = 1024**2
_LIMITS = {
    CONFIG_FILE: MAX_SMALL_BYTES,
    META_FILE: MAX_SMALL_BYTES,
    "preview.ogg": MAX_PREVIEW_BYTES,
}


class ArchiveError(LibraryError):
    """A bundle zip that is unsafe, damaged, too large or not a bundle."""


def _member_target(info: zipfile.ZipInfo, source: Path) -> tuple[str, str] | None:
    """(folder prefix, file name) of a member, None for directory entries; raises if unsafe."""
    raw = info.filename
    shown = f"{source}: entry {raw!r}"
    if "\\" in raw or raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise ArchiveError(f"{shown} has an absolute or Windows path; refusing to import this zip")
    parts = PurePosixPath(raw).parts
    if any(part in ("..", ".") for part in parts) or not parts:
        raise ArchiveError(f"{shown} points outside the bundle ('..'); refusing to import this zip")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"{shown} is a symbolic link; refusing to import this zip")
    if info.is_dir():
        if len(parts) > 1:
            raise ArchiveError(f"{shown}: nested folders are not part of a bundle")
        return None
    if stat.S_IFMT(mode) and not stat.S_ISREG(mode):
        raise ArchiveError(f"{shown} is not a plain file; refusing to import this zip")
    if len(parts) > 2:
        raise ArchiveError(f"{shown}: nested folders are not part of a bundle")
    prefix, filename = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if filename not in BUNDLE_FILES:
        raise ArchiveError(
            f"{shown} is not a bundle file (expected only {', '.join(BUNDLE_FILES)}); "
            "is this an sda bundle zip?"
        )
    if info.flag_bits & 0x1:
        raise ArchiveError(f"{shown} is encrypted; sda bundle zips are never encrypted")
    return prefix, filename


class _Budget:
    """Bytes all members together may still write: checked per chunk, not per finished file."""

    def __init__(self, total: int, source: Path) -> None:
        self.left, self.source = total, source

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ArchiveError(
                f"{self.source} unpacks to more than the {_size(MAX_TOTAL_BYTES)} limit"
            )


def _size(count: int) -> str:
    return f"{count / 1024**2:.0f} MiB" if count >= 1024**2 else f"{count} bytes"


def _copy_limited(source, target: Path, limit: int, what: str, budget: _Budget, head=b"") -> int:
    """Write `head` then the rest of `source`, never past `limit` or the budget: the declared
    sizes in a zip header cannot be trusted."""
    copied = 0
    with target.open("wb") as out:
        chunk = head or source.read(1 << 20)
        while chunk:
            copied += len(chunk)
            if copied > limit:
                raise ArchiveError(f"{what} is larger than the {_size(limit)} limit")
            budget.spend(len(chunk))
            out.write(chunk)
            chunk = source.read(1 << 20)
        out.flush()
        os.fsync(out.fileno())
    return copied


def _check_declared(info: zipfile.ZipInfo, filename: str, what: str) -> int:
    """Refuse a member from its directory entry alone (before any byte is written); its limit."""
    limit = _LIMITS.get(filename, MAX_WEIGHTS_BYTES)
    if info.file_size > limit:
        raise ArchiveError(f"{what} is larger than the {_size(limit)} limit")
    packed = max(info.compress_size, 1)
    if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_PACKING_RATIO * packed:
        raise ArchiveError(
            f"{what} would unpack to {info.file_size // packed:,} times its packed size "
            f"(at most {MAX_PACKING_RATIO}); this looks like a zip bomb, refusing to import it"
        )
    return limit


def _weights_head(source, info: zipfile.ZipInfo, zip_path: Path, filename: str) -> bytes:
    """A safetensors member's length prefix and header, checked against the member's declared
    size before anything is written (a bomb of zeros or a lying header stops here)."""
    what = f"{zip_path} does not contain a valid bundle: {filename}"
    head = source.read(8)
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise ArchiveError(f"{what} is a pickled PyTorch file, not safetensors; sda never loads it")
    length = int.from_bytes(head, "little") if len(head) == 8 else 0
    if not 1 < length <= min(_MAX_HEADER_BYTES, info.file_size - 8):
        raise ArchiveError(f"{what} is not a safetensors weights file, or is truncated")
    raw = source.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not an object")
        check_tensor_entries(header, info.file_size - 8 - length)
    except (ValueError, RecursionError, WeightsHeaderError) as error:
        raise ArchiveError(f"{what} is truncated or has a damaged header ({error})") from None
    return head + raw


def _extract_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    filename: str,
    dest: Path,
    budget: _Budget,
    zip_path: Path,
) -> None:
    what = f"{zip_path}: {filename}"
    limit = _check_declared(info, filename, what)
    try:
        with archive.open(info) as source:
            weights = filename.endswith(".safetensors")
            head = _weights_head(source, info, zip_path, filename) if weights else b""
            _copy_limited(source, dest / filename, limit, what, budget, head)
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as error:
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # our disk is full: the zip is fine, do not call it damaged
        raise ArchiveError(f"{what} is damaged ({error}); get the zip again") from None


def _check_config_early(dest: Path, zip_path: Path) -> None:
    """Refuse absurd model sizes from config.json before unpacking the weights it describes."""
    if not (dest / CONFIG_FILE).is_file():
        return
    try:
        config = read_json_file(dest / CONFIG_FILE, "model config")
        check_model_sizes(config, f"{zip_path}: {CONFIG_FILE}")
    except SdaError as error:
        raise ArchiveError(f"{zip_path} does not contain a valid bundle: {error}") from None


def _plan(archive: zipfile.ZipFile, zip_path: Path) -> list[tuple[zipfile.ZipInfo, str]]:
    """The members to unpack as (info, file name); refuses unsafe or oversized zips."""
    members = archive.infolist()
    if len(members) > 2 * len(BUNDLE_FILES):
        raise ArchiveError(
            f"{zip_path} has {len(members)} entries; a bundle has at most {len(BUNDLE_FILES)}"
        )
    targets = [(info, target) for info in members if (target := _member_target(info, zip_path))]
    if len({prefix for _, (prefix, _) in targets}) > 1:
        raise ArchiveError(
            f"{zip_path} holds more than one bundle folder; export one bundle per zip"
        )
    names = [filename for _, (_, filename) in targets]
    if len(names) != len(set(names)):
        raise ArchiveError(f"{zip_path} lists the same bundle file twice; refusing to import it")
    declared = sum(info.file_size for info, _ in targets)
    if declared > MAX_TOTAL_BYTES:
        raise ArchiveError(
            f"{zip_path} unpacks to {declared / 1024**3:.1f} GiB, over the "
            f"{_size(MAX_TOTAL_BYTES)} limit"
        )
    return [(info, filename) for info, (_, filename) in targets]


def extract_bundle_zip(zip_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack a bundle zip into the new folder `dest`, check everything, return `dest`.

    Sizes are checked from the zip's directory, again from each weights header, and while
    writing (per file and in total), so a zip bomb is refused before it fills the disk; the disk's
    free space is checked against the declared size before the first byte is written.
    """
    zip_path, dest = Path(zip_path).expanduser(), Path(dest)
    if not zip_path.is_file():
        raise ArchiveError(f"{zip_path} does not exist or is not a file")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ArchiveError(f"{zip_path} is not a readable zip file ({error})") from None
    with archive:
        plan = _plan(archive, zip_path)
        declared = sum(info.file_size for info, _ in plan)
        check_free_space(dest.parent, declared)
        with disk_full_as_error(dest.parent, declared):
            dest.mkdir(parents=True)
            budget = _Budget(MAX_TOTAL_BYTES, zip_path)
            # Small files first: an absurd config.json is refused before its weights are unpacked.
            for info, filename in sorted(plan, key=lambda item: item[1].endswith(".safetensors")):
                if filename.endswith(".safetensors"):
                    _check_config_early(dest, zip_path)
                _extract_member(archive, info, filename, dest, budget, zip_path)
    try:
        check_bundle_folder(dest)
        load_bundle_folder(
            dest
        )  # full check: weights load into the models and match their recorded id
    except SdaError as error:
        raise ArchiveError(f"{zip_path} does not contain a valid bundle: {error}") from None
    return dest


def zip_target(zip_path: str | os.PathLike) -> Path:
    """The file `write_bundle_zip` writes for `zip_path` (".zip" added when missing)."""
    zip_path = Path(zip_path).expanduser()
    if zip_path.suffix.lower() != ".zip":
        zip_path = zip_path.with_name(zip_path.name + ".zip")
    return zip_path


def write_bundle_zip(
    bundle_dir: str | os.PathLike,
    zip_path: str | os.PathLike,
    *,
    overwrite: bool = False,
    tmp_path: str | os.PathLike | None = None,
) -> Path:
    """Write the bundle's files into `zip_path` (inside a folder named after the bundle),
    atomically, through `tmp_path` when given; the disk's free space is checked first."""
    bundle_dir, zip_path = Path(bundle_dir), zip_target(zip_path)
    if zip_path.exists() and not overwrite:
        raise ArchiveError(f"{zip_path} already exists; choose another file or pass --overwrite")
    check_bundle_folder(bundle_dir)
    files = [bundle_dir / name for name in BUNDLE_FILES if (bundle_dir / name).is_file()]
    need = sum(path.stat().st_size for path in files)  # stored or deflated: at most this much
    check_free_space(zip_path.parent, need)
    with (
        disk_full_as_error(zip_path.parent, need),
        atomic_write(zip_path, tmp_path=tmp_path) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for path in files:
            # Weights barely compress; storing them keeps export and import fast.
            method = (
                zipfile.ZIP_STORED
                if path.name.endswith((".safetensors", ".ogg"))
                else zipfile.ZIP_DEFLATED
            )
            archive.write(path, f"{bundle_dir.name}/{path.name}", compress_type=method)
    return zip_path
