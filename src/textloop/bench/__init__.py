"""``textloop bench``: a closed-loop load generator, server resource sampling and the report."""
