"""Package databases read from an image's layers, and the bytes each package owns (issue 14).

``records``/``dpkg``/``apk``/``rpm``/``python``/``npm``: pure parsers over bytes; ``capture``: the database
files kept as the layers stream past, and the databases after each layer; ``report``: attribution of the
union filesystem's bytes to packages (``PackageReport``); ``sbom``: CycloneDX and SPDX documents.

May import: ``analysis``, ``union``, ``sources``, the bottom modules. Not ``advise``, ``budget``, ``render`` or ``cli``.
"""

from imgscope.packages.capture import DatabaseCapture
from imgscope.packages.records import PackageRecord, ParsedDatabase
from imgscope.packages.report import (
    SCHEMA_VERSION,
    DatabaseInfo,
    Package,
    PackageEvent,
    PackageLayer,
    PackageReport,
    UnownedBytes,
    package_report,
)
from imgscope.packages.scan import ImagePackages, packages_of, scan_packages

__all__ = [
    "SCHEMA_VERSION",
    "DatabaseCapture",
    "DatabaseInfo",
    "ImagePackages",
    "Package",
    "PackageEvent",
    "PackageLayer",
    "PackageRecord",
    "PackageReport",
    "ParsedDatabase",
    "UnownedBytes",
    "package_report",
    "packages_of",
    "scan_packages",
]
