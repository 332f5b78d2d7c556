"""The web dashboard\x27s static assets."""
