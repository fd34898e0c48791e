"""The root of every error sda reports to a person (not a bug): the CLI and app print these as one line."""


class SdaError(Exception):
    """A problem the user can fix: bad input, a missing file, a corrupt bundle. The message says what to do."""
