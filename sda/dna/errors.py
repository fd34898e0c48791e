"""The error of the sound-DNA layer: a code grid or codes file that cannot be used.

It lives apart from `Codes` so the readers below `codes.py` (grid field checks) and the ones above
it (sessions) raise the same error without importing each other.
"""

from __future__ import annotations

from sda.errors import SdaError


class CodesError(SdaError):
    """A codes file or grid that cannot be used (corrupt, out of range, from another model)."""
