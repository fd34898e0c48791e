"""sda: Small DataSet Audio."""

__version__ = "0.1.0"
