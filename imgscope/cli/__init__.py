"""The command line: parse arguments, call the library, render. Nothing else lives here.

Exit codes: 0 ok; 1 a check failed; 2 bad input or usage. Each command lives in its own module
and registers itself on ``main`` when imported: ``main`` imports it when the command is looked up (below).

May import: everything (it is the top layer: the only package that imports ``render`` and ``explore``).
"""

from imgscope.cli._common import main

# Each command's module, imported when the command is run (or listed): ``imgscope analyze --json`` never imports
# rich, the renderers, the explorer or the advice rules.
main.lazy_commands.update(
    {
        "advise": "imgscope.cli.advise",
        "analyze": "imgscope.cli.analyze",
        "batch": "imgscope.cli.batch",
        "cache": "imgscope.cli.cache",
        "check": "imgscope.cli.check",
        "diff": "imgscope.cli.diff",
        "explore": "imgscope.cli.explore",
        "history": "imgscope.cli.history",
        "inspect": "imgscope.cli.inspect",
        "ls": "imgscope.cli.analyze",
        "packages": "imgscope.cli.packages",
        "report": "imgscope.cli.report",
        "tree": "imgscope.cli.tree",
    }
)

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
