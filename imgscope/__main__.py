"""``python -m imgscope``."""

from imgscope.cli import main

main()
