"""sda.generate."""
