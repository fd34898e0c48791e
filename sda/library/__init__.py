"""Model bundles and the model library: save, find, load, share and delete trained models safely.

Importing this package is cheap (no torch): torch and the models load only when a bundle does.
"""

from sda.library.archive import ArchiveError
from sda.library.bundle import Bundle, BundleError, load_bundle, save_bundle
from sda.library.disk_space import DiskFullError
from sda.library.export_run import export_run
from sda.library.library import (
    Library,
    LibraryEntry,
    LibraryError,
    UnknownBundleError,
    default_library_root,
    resolve_bundle,
)
from sda.library.names import InvalidNameError, validate_name

__all__ = [
    "ArchiveError",
    "Bundle",
    "BundleError",
    "DiskFullError",
    "InvalidNameError",
    "Library",
    "LibraryEntry",
    "LibraryError",
    "UnknownBundleError",
    "default_library_root",
    "export_run",
    "load_bundle",
    "resolve_bundle",
    "save_bundle",
    "validate_name",
]
