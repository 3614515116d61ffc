"""`python -m emulator.cli`."""

from emulator.cli import main

main()
