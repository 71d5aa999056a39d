"""``imgscope check``: what an image may weigh and the verdict.

Owns: the ``Budget`` and where it is read from (``config``: options, pyproject/.imgscope.toml, .dive-ci), the
earlier build's sizes to compare against (``baseline``), and the judgement ``check() -> CheckReport`` with its JSON
document (``check``).

May import: ``analysis``, ``history`` (the base image), ``dive`` (its CI rules), ``union``, ``sources``, the bottom
modules. Not ``render`` or ``cli``.
"""
