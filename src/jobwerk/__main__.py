"""`python -m jobwerk` runs the command line interface."""

from jobwerk.cli import main

main()
