"""``python -m logaudit``."""

from logaudit.cli import main

main()
