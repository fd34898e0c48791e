"""sda.audio."""
