"""``python -m textloop`` is the ``textloop`` command."""

from textloop.cli import main

main()
