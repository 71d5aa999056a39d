"""The command line: parse arguments, call the library, render. Nothing else lives here.

Exit codes: 0 ok; 1 a check failed; 2 bad input or usage. Each command lives in its own module
and registers itself on ``main`` when imported below.

May import: everything (it is the top layer: the only package that imports ``render`` and ``explore``).
"""

from imgscope.cli import advise as _advise  # noqa: F401  (registers the commands)
from imgscope.cli import analyze as _analyze  # noqa: F401  (registers the commands)
from imgscope.cli import batch as _batch  # noqa: F401
from imgscope.cli import cache as _cache  # noqa: F401
from imgscope.cli import check as _check  # noqa: F401
from imgscope.cli import diff as _diff  # noqa: F401
from imgscope.cli import explore as _explore  # noqa: F401
from imgscope.cli import history as _history  # noqa: F401
from imgscope.cli import inspect as _inspect  # noqa: F401
from imgscope.cli import packages as _packages  # noqa: F401
from imgscope.cli import report as _report  # noqa: F401
from imgscope.cli import tree as _tree  # noqa: F401
from imgscope.cli._common import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    main()
