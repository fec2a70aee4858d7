"""acme."""
