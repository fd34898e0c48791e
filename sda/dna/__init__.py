"""sda.dna."""
