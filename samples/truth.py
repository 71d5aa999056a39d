#!/usr/bin/env python3
"""Ground-truth writer for imgscope samples (stdlib only).

  truth.py tree ROOTFS OUT.tsv
      Walk an unpacked rootfs (made by `umoci unpack`) with os.lstat and
      write one line per entry except the root, sorted by path:
      path  type  size  mode  uid  gid  link_target
      type: file|dir|symlink|char|block|fifo|socket; size = st_size for
      regular files, else 0; mode = 4 octal digits of stat.S_IMODE;
      link_target = os.readlink for symlinks, else empty.

  truth.py layers OCI_DIR TAG OUT.tsv
      For the image TAG in an OCI layout (gzip, zstd-less), list every
      layer's tar members as the layer tar has them:
      layer  name  typeflag  size  linkname
      layer = 0-based index in the manifest; typeflag = the raw tar type
      character ('0' file, '1' hard link, '2' symlink, '3' char, '4' block,
      '5' dir, '6' fifo); size = tar header size; linkname = tar linkname.
"""
import gzip
import io
import json
import os
import stat
import sys
import tarfile


def kind(mode):
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISCHR(mode):
        return "char"
    if stat.S_ISBLK(mode):
        return "block"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "unknown"


def tree(root, out):
    rows = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = "/" + os.path.relpath(full, root)
            t = kind(st.st_mode)
            size = st.st_size if t == "file" else 0
            target = os.readlink(full) if t == "symlink" else ""
            rows.append((rel, t, str(size), "%04o" % stat.S_IMODE(st.st_mode),
                         str(st.st_uid), str(st.st_gid), target))
    rows.sort()
    with open(out, "w") as f:
        f.write("path\ttype\tsize\tmode\tuid\tgid\tlink_target\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


def _blob(oci, digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(oci, "blobs", algo, hexd)


def layers(oci, tag, out):
    with open(os.path.join(oci, "index.json")) as f:
        index = json.load(f)
    desc = None
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            desc = m
    if desc is None:
        sys.exit("tag %r not in %s" % (tag, oci))
    with open(_blob(oci, desc["digest"])) as f:
        manifest = json.load(f)
    with open(out, "w") as f:
        f.write("layer\tname\ttypeflag\tsize\tlinkname\n")
        for i, layer in enumerate(manifest["layers"]):
            with open(_blob(oci, layer["digest"]), "rb") as b:
                data = b.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
                for m in t.getmembers():
                    f.write("%d\t%s\t%s\t%d\t%s\n" % (
                        i, m.name, m.type.decode(), m.size, m.linkname))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "tree":
        tree(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "layers":
        layers(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
