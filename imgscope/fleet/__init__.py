"""Fleet analysis (``imgscope batch``): many images, each distinct layer scanned once, into Parquet tables.

Owns: expanding sources into image jobs (``plan``), the two stage functions an engine runs (``stages``: scan one
layer, assemble one image), the engines (``engines``: local process pool, Dask, Ray), the tables and their rows
(``tables``, ``rows``) and the run (``run``). Imports ``analysis``, ``packages``, ``advise`` and ``sources``;
never render or cli.
"""

from imgscope.fleet.run import BatchProgress, BatchResult, batch, read_tables

__all__ = ["BatchProgress", "BatchResult", "batch", "read_tables"]
