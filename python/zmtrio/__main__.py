"""``python -m zmtrio``: the command line (see ``zmtrio --help``)."""

from ._cli import main

main()
