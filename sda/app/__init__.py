"""sda.app."""
