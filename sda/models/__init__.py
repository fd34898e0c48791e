"""sda.models."""
