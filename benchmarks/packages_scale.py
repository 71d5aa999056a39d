"""How the package-database parsers and the ownership map scale: a dpkg database (status + one .list per
package, 10 files each), an apk database and npm package.json files of N packages, for N = 10,000 and
100,000. Linear means the time per package stays flat.

    PYTHONPATH=. python benchmarks/packages_scale.py
"""

from __future__ import annotations

import json
import time

from imgscope.packages.capture import DatabaseCapture, parse_state
from imgscope.packages.report import _Owners, _Resolver


def databases(n: int) -> dict[str, bytes]:
    status = []
    files: dict[str, bytes] = {}
    apk = []
    for i in range(n):
        status.append(
            f"Package: pkg{i}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.{i}-1\n"
            f"Installed-Size: {i % 900}\nDescription: package {i}\n a long description\n"
        )
        files[f"/var/lib/dpkg/info/pkg{i}.list"] = "".join(f"/usr/lib/pkg{i}/file{j}\n" for j in range(10)).encode()
        apk.append(f"P:apk{i}\nV:1.{i}-r0\nA:x86_64\nI:4096\nF:usr/lib/apk{i}\nR:a\nR:b\n")
        files[f"/app/node_modules/n{i}/package.json"] = json.dumps({"name": f"n{i}", "version": "1.0.0"}).encode()
    files["/var/lib/dpkg/status"] = "\n".join(status).encode()
    files["/lib/apk/db/installed"] = "\n".join(apk).encode()
    return files


def main() -> None:
    for n in (10_000, 100_000):
        raw = databases(n)
        cap = DatabaseCapture()
        t0 = time.perf_counter()
        cap.feed(0, raw.items())
        t1 = time.perf_counter()
        dbs = parse_state(cap.written[0])
        t2 = time.perf_counter()
        owners = _Owners(dbs, _Resolver({"/lib": "usr/lib"}))
        hits = sum(owners.owner(f"/usr/lib/pkg{i}/file3") is not None for i in range(n))
        t3 = time.perf_counter()
        total = sum(len(d.packages) for d in dbs)
        print(
            f"{n:>7,} of each ({total:,} packages): capture {t1 - t0:.2f}s, parse {t2 - t1:.2f}s, "
            f"ownership {t3 - t2:.2f}s; {1e6 * (t3 - t0) / total:.1f} us/package; {hits:,} owners found"
        )


if __name__ == "__main__":
    main()
