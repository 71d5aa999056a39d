#!/usr/bin/env python3
"""Per-layer ground truth: the root filesystem as it stands after each layer, unpacked by umoci (stdlib only).

  layer_truth.py OCI_DIR TAG OUT.tsv

For N = 0 .. layers-1 it writes, into a scratch copy of the OCI layout, a config and a manifest holding only
the first N+1 layers (rootfs.diff_ids and history cut to match), tags it ``prefix-N``, runs
``umoci unpack --image DIR:prefix-N`` (as root, so devices, fifos and ownership survive) and walks the rootfs
with ``truth.py``'s rules. OUT.tsv has one line per path per layer:
    layer  path  type  size  mode  uid  gid  link_target
Made for samples/truth/cases.per-layer.tsv and cases-vfs.per-layer.tsv (see samples/README.md).
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import truth  # noqa: E402


def blob_path(oci, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(oci, "blobs", algo, hexd)


def put_blob(oci, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(blob_path(oci, digest), "wb") as f:
        f.write(data)
    return digest, len(data)


def main(src, tag, out):
    work = tempfile.mkdtemp(prefix="layer-truth-")
    oci = os.path.join(work, "oci")
    shutil.copytree(src, oci)
    with open(os.path.join(oci, "index.json")) as f:
        index = json.load(f)
    desc = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    with open(blob_path(oci, desc["digest"])) as f:
        manifest = json.load(f)
    with open(blob_path(oci, manifest["config"]["digest"])) as f:
        config = json.load(f)
    rows = []
    for n in range(len(manifest["layers"])):
        cfg = json.loads(json.dumps(config))
        cfg["rootfs"]["diff_ids"] = config["rootfs"]["diff_ids"][: n + 1]
        kept, layers = [], 0
        for h in config.get("history", []):
            if layers > n:
                break
            kept.append(h)
            layers += 0 if h.get("empty_layer") else 1
        cfg["history"] = kept
        cdigest, csize = put_blob(oci, json.dumps(cfg).encode())
        man = dict(manifest, layers=manifest["layers"][: n + 1])
        man["config"] = dict(manifest["config"], digest=cdigest, size=csize)
        mdigest, msize = put_blob(oci, json.dumps(man).encode())
        index["manifests"].append(
            {"mediaType": desc["mediaType"], "digest": mdigest, "size": msize,
             "annotations": {"org.opencontainers.image.ref.name": f"prefix-{n}"}}
        )
        with open(os.path.join(oci, "index.json"), "w") as f:
            json.dump(index, f)
        bundle = os.path.join(work, f"bundle-{n}")
        subprocess.run(["umoci", "unpack", "--image", f"{oci}:prefix-{n}", bundle], check=True,
                       stdout=subprocess.DEVNULL)
        tsv = os.path.join(work, f"tree-{n}.tsv")
        truth.tree(os.path.join(bundle, "rootfs"), tsv)
        with open(tsv) as f:
            rows += [f"{n}\t{line}" for line in f.read().splitlines()[1:]]
    with open(out, "w") as f:
        f.write("layer\tpath\ttype\tsize\tmode\tuid\tgid\tlink_target\n")
        f.write("".join(r + "\n" for r in rows))
    shutil.rmtree(work)


if __name__ == "__main__":
    main(*sys.argv[1:])
