"""`python -m bot` runs the coopbot command line."""

from bot.cli import main

main()
