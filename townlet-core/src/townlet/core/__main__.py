"""``python -m townlet.core`` runs the ``townlet`` CLI."""

from townlet.core.cli import main

main()
