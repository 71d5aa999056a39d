"""An image's history read back: the history beside its layers (``rows``: ``history()``, ``History``), the
Dockerfile that made it (``dockerfile``: ``reconstruct()``), and where its base image ends (``base_image``).
How each builder writes a history entry is read in ``sources.created_by``.

May import: ``analysis``, ``sources``, the bottom modules. Not ``advise``, ``budget``, ``render`` or ``cli``.
"""
