"""sda.dataset."""
