"""The library's errors: what a library operation could not do, said so a musician can act.

`LibraryError` is the root of every error `sda.library` raises to a user: `BundleError` (a model
that cannot be loaded or saved), `ArchiveError` (a zip), `InvalidNameError`, `DiskFullError`, ...
"""

from __future__ import annotations

from sda.errors import SdaError


class LibraryError(SdaError):
    """A library operation that cannot be done: unknown or duplicate name, busy or damaged library,
    or a model that cannot be loaded (the subclasses say which)."""


class UnknownBundleError(LibraryError):
    """No bundle with that name (the message suggests close names)."""


class LibraryBusyError(LibraryError):
    """Another sda process holds the library's lock for longer than we wait."""
