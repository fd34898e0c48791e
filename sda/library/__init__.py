"""sda.library."""
