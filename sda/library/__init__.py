"""Model bundles and the model library: save, find, open, share and delete trained models safely.

Importing this package is cheap (no torch): torch and the models load only when a model does.
Modules: `bundle` (the folder format), `checkpoints` (reading training runs), `run_logs` (what a
run's logs say), `add_run` (runs -> a bundle in the library), `library` (the folder of bundles and
its index), `loading` (`open_model`: a name or a path -> a loaded model).
"""

from sda.library.add_run import add_run
from sda.library.archive import ArchiveError
from sda.library.bundle import Bundle, BundleError, load_bundle_folder, save_bundle
from sda.library.disk_space import DiskFullError
from sda.library.errors import UnknownBundleError
from sda.library.library import Library, LibraryEntry, LibraryError, default_library_root
from sda.library.loading import load_bundle, open_model, resolve_bundle
from sda.library.names import InvalidNameError, validate_name

# The name before `sda library add`; kept for scripts and the app's training tab.
export_run = add_run

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
    "add_run",
    "default_library_root",
    "export_run",
    "load_bundle",
    "load_bundle_folder",
    "open_model",
    "resolve_bundle",
    "save_bundle",
    "validate_name",
]
