"""``python -m gateway`` is ``jira-gateway``."""

from gateway.cli import main

main()
