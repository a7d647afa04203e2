"""``python -m vault`` runs the ``evault`` command line."""

from vault.cli import main

main()
