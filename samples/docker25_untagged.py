"""Write what Docker >= 25 `docker save IMAGE-ID` writes for an untagged image, from samples/cases/docker25.tar.

Docker 25 and later save an image named by its ID (or an image without tags) as an OCI layout whose
`index.json` has `"manifests": null`, with `manifest.json` alone describing the image (`"RepoTags": null`) and
no `repositories` file. No packaged tool here writes it, so it is ASSEMBLED from the real docker25.tar (itself
assembled from buildah/skopeo exports, see README.md): the same blobs (config and layers), index.json and
manifest.json rewritten as Docker writes them, `repositories` and the manifest blob (nothing names it) left out.
The tests make it in a temporary directory (2.3 MB: too large to commit twice):

    python3 samples/docker25_untagged.py samples/cases/docker25.tar /tmp/docker25-untagged.tar
"""

from __future__ import annotations

import io
import json
import sys
import tarfile


def assemble(src: str, out: str) -> None:
    """Copy ``src`` (a Docker 25 save of a tagged image) to ``out`` as the save of the same image untagged."""
    with tarfile.open(src) as tin:
        manifest = json.load(tin.extractfile("manifest.json"))  # type: ignore[arg-type]
        index = json.load(tin.extractfile("index.json"))  # type: ignore[arg-type]
        manifest_blobs = {"blobs/sha256/" + d["digest"].partition(":")[2] for d in index["manifests"]}
        for entry in manifest:
            entry["RepoTags"] = None
        index["manifests"] = None
        rewritten = {
            "manifest.json": json.dumps(manifest, separators=(",", ":")).encode() + b"\n",
            "index.json": json.dumps(index, separators=(",", ":")).encode() + b"\n",
        }
        with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tout:
            for member in tin.getmembers():
                if member.name == "repositories" or member.name in manifest_blobs:
                    continue
                if member.name in rewritten:
                    data = rewritten[member.name]
                    member.size = len(data)
                    tout.addfile(member, io.BytesIO(data))
                else:
                    tout.addfile(member, tin.extractfile(member) if member.isfile() else None)


if __name__ == "__main__":
    assemble(sys.argv[1], sys.argv[2])
