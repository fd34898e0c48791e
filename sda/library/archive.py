"""Share a bundle as a .zip, and take one in without trusting it.

An imported zip may hold only the bundle's known files, at its top level or inside one folder; no
absolute or `..` paths, no links, no more than the size limits, and it must load as a valid bundle.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from sda.atomic_files import atomic_write
from sda.errors import SdaError
from sda.library.bundle import (
    BUNDLE_FILES,
    CONFIG_FILE,
    META_FILE,
    check_bundle_folder,
    load_bundle,
)

MAX_WEIGHTS_BYTES = 4 * 1024**3  # codec / prior safetensors
MAX_SMALL_BYTES = 16 * 1024**2  # config.json, meta.json
MAX_PREVIEW_BYTES = 64 * 1024**2
MAX_TOTAL_BYTES = 8 * 1024**3
_LIMITS = {
    CONFIG_FILE: MAX_SMALL_BYTES,
    META_FILE: MAX_SMALL_BYTES,
    "preview.ogg": MAX_PREVIEW_BYTES,
}


class ArchiveError(SdaError):
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


def _copy_limited(source, target: Path, limit: int, what: str) -> int:
    """Copy at most `limit` bytes; the declared sizes in a zip header cannot be trusted."""
    copied = 0
    with target.open("wb") as out:
        while chunk := source.read(1 << 20):
            copied += len(chunk)
            if copied > limit:
                raise ArchiveError(f"{what} is larger than the {limit // 1024**2} MiB limit")
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return copied


def extract_bundle_zip(zip_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack a bundle zip into the new folder `dest`, check everything, return `dest`."""
    zip_path, dest = Path(zip_path).expanduser(), Path(dest)
    if not zip_path.is_file():
        raise ArchiveError(f"{zip_path} does not exist or is not a file")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ArchiveError(f"{zip_path} is not a readable zip file ({error})") from None
    with archive:
        members = archive.infolist()
        if len(members) > 2 * len(BUNDLE_FILES):
            raise ArchiveError(
                f"{zip_path} has {len(members)} entries; a bundle has at most {len(BUNDLE_FILES)}"
            )
        targets = {}
        for info in members:
            target = _member_target(info, zip_path)
            if target is not None:
                targets[info.filename] = (info, *target)
        prefixes = {prefix for _, prefix, _ in targets.values()}
        if len(prefixes) > 1:
            raise ArchiveError(
                f"{zip_path} holds more than one bundle folder; export one bundle per zip"
            )
        names = [filename for _, _, filename in targets.values()]
        if len(names) != len(set(names)):
            raise ArchiveError(
                f"{zip_path} lists the same bundle file twice; refusing to import it"
            )
        declared = sum(info.file_size for info, _, _ in targets.values())
        if declared > MAX_TOTAL_BYTES:
            raise ArchiveError(
                f"{zip_path} unpacks to {declared / 1024**3:.1f} GiB, over the size limit"
            )
        dest.mkdir(parents=True)
        total = 0
        for info, _, filename in targets.values():
            limit = _LIMITS.get(filename, MAX_WEIGHTS_BYTES)
            try:
                with archive.open(info) as source:
                    total += _copy_limited(
                        source, dest / filename, limit, f"{zip_path}: {filename}"
                    )
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise ArchiveError(
                    f"{zip_path}: {filename} is damaged ({error}); get the zip again"
                ) from None
            if total > MAX_TOTAL_BYTES:
                raise ArchiveError(f"{zip_path} unpacks to more than the size limit")
    try:
        check_bundle_folder(dest)
        load_bundle(dest)  # full check: weights load into the models and match their recorded id
    except SdaError as error:
        raise ArchiveError(f"{zip_path} does not contain a valid bundle: {error}") from None
    return dest


def write_bundle_zip(
    bundle_dir: str | os.PathLike, zip_path: str | os.PathLike, *, overwrite: bool = False
) -> Path:
    """Write the bundle's files into `zip_path` (inside a folder named after the bundle), atomically."""
    bundle_dir, zip_path = Path(bundle_dir), Path(zip_path).expanduser()
    if zip_path.suffix.lower() != ".zip":
        zip_path = zip_path.with_name(zip_path.name + ".zip")
    if zip_path.exists() and not overwrite:
        raise ArchiveError(f"{zip_path} already exists; choose another file or pass --overwrite")
    check_bundle_folder(bundle_dir)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with (
        atomic_write(zip_path) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for filename in BUNDLE_FILES:
            path = bundle_dir / filename
            if path.is_file():
                # Weights barely compress; storing them keeps export and import fast.
                method = (
                    zipfile.ZIP_STORED
                    if filename.endswith((".safetensors", ".ogg"))
                    else zipfile.ZIP_DEFLATED
                )
                archive.write(path, f"{bundle_dir.name}/{filename}", compress_type=method)
    return zip_path
