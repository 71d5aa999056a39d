"""``python -m imgscope``: the same program, under the same name (usage lines, shell completion)."""

from imgscope.cli import main

main(prog_name="imgscope")
