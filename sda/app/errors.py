"""The explorer's one error for what the musician asked and cannot be done (no model picked, a bad
setting, an unreadable file). `sda.app.feedback.friendly` shows its message as is, like any other
`SdaError`; the refusals of lower layers keep their own words when they are passed on.
"""

from __future__ import annotations

from sda.errors import SdaError


class AppError(SdaError):
    """Something asked of the explorer that cannot be done; the message says what to do instead."""
