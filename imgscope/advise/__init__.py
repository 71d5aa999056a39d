"""``imgscope advise``: what to change in the Dockerfile, and how many bytes each change saves.

Owns: the rules (``size`` IS1xx, ``secrets`` IS2xx, ``hygiene`` IS3xx; each rule one ``Rule`` object carrying its
id, name, severity, title, why, fix and evaluation), the shared ``Context``, the pass and its settings (``engine``),
and the result types (``model``: ``Finding``, ``Advice`` with its JSON document). Rules read an ``Analysis`` (and
the image config it holds); nothing is read from the image again. Documented in ``docs/advice.md``.

What the base image brought (``history.base_image.find_base``) is not blamed on the Dockerfile: size and hygiene
rules look at the image's own layers only, and the base's share is the ``large-base`` finding. Secrets are
reported wherever they are, the base's included.

May import: ``analysis``, ``history``, ``union``, ``sources``, the bottom modules. Not ``render`` or ``cli``.
"""

from imgscope.advise.engine import RULES, RULES_BY_ID, RULES_BY_NAME, AdviseSettings, advice, advise
from imgscope.advise.model import MAX_PATHS, Advice, Copy, Finding, Rule, Severity
from imgscope.text import redact

__all__ = [
    "MAX_PATHS",
    "RULES",
    "RULES_BY_ID",
    "RULES_BY_NAME",
    "Advice",
    "AdviseSettings",
    "Copy",
    "Finding",
    "Rule",
    "Severity",
    "advice",
    "advise",
    "redact",
]
