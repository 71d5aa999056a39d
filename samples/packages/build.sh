#!/usr/bin/env bash
# Rebuild samples/packages/oci (and oci-4: the same image without its last layer): an OCI layout (gzip layers, tag 1) whose package databases were written by
# the real tools, for imgscope's package tests. Needs root, network (the Debian mirror, the npm and PyPI
# registries) and: buildah skopeo dpkg-dev rpm npm python3 (with pip >= 22.3). Scratch goes to $WORK.
#
# Layers (each one `buildah commit` of a container whose root was changed through `buildah mount`):
#   0  base: usr-merged root (/bin, /lib -> usr/...), /etc/os-release (Debian 12), an empty dpkg database
#   1  dpkg --root: hello, build-essential, sensible-utils, uuid-dev (real Debian bookworm .debs, fetched by
#      apt-get download; no maintainer scripts) and imgscope-demo 1.0 (made here by dpkg-deb: a file under
#      /bin (the symlink), a hard link, docs, a locale)
#   2  rpm --root: imgscope-rpmdemo (made here by rpmbuild from src/demo.spec) into var/lib/rpm (rpmdb.sqlite);
#      and lib/apk/db/installed: src/installed.apk, written as apk writes it (no apk tool here), with the
#      files its records name
#   3  a venv (python3 -m venv --without-pip) with six and idna installed by pip (--python, --no-deps)
#   4  an npm project in /app: npm install of src/package.json (2 dependencies, 1 dev dependency)
#   5  dpkg --root: --purge sensible-utils, imgscope-demo upgraded to 1.1
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/pkg-samples-work}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
export TZ=UTC LC_ALL=C
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for t in buildah skopeo dpkg dpkg-deb rpm rpmbuild npm python3 apt-get; do
  command -v "$t" >/dev/null || { echo "missing tool: $t" >&2; exit 1; }
done
rm -rf "$WORK"; mkdir -p "$WORK"/{debs,rpm,npm}
B="buildah --storage-driver vfs --root $WORK/root --runroot $WORK/run"

# -- the packages
(cd "$WORK/debs" && apt-get download hello=2.10-3 build-essential=12.9 sensible-utils=0.0.17+nmu1 \
    uuid-dev=2.38.1-5+deb12u3)
chmod 644 "$WORK"/debs/*.deb
make_demo() {  # version, bytes of the data file
  local d="$WORK/demo-$1"
  mkdir -p "$d/DEBIAN" "$d/bin" "$d/usr/share/doc/imgscope-demo" "$d/usr/share/locale/de/LC_MESSAGES" \
    "$d/usr/share/imgscope-demo"
  printf 'Package: imgscope-demo\nVersion: %s\nArchitecture: all\nMaintainer: imgscope <imgscope@example.org>\nInstalled-Size: 40\nSection: misc\nPriority: optional\nDescription: imgscope sample package\n a file under /bin, a hard link, docs and a locale\n' "$1" > "$d/DEBIAN/control"
  printf '#!/bin/sh\necho demo %s\n' "$1" > "$d/bin/imgscope-demo"; chmod 755 "$d/bin/imgscope-demo"
  head -c "$2" /dev/zero | tr '\0' 'd' > "$d/usr/share/imgscope-demo/data"
  ln "$d/usr/share/imgscope-demo/data" "$d/usr/share/imgscope-demo/data.hardlink"
  head -c 3000 /dev/zero | tr '\0' 'r' > "$d/usr/share/doc/imgscope-demo/README"
  head -c 1500 /dev/zero | tr '\0' 'm' > "$d/usr/share/locale/de/LC_MESSAGES/imgscope-demo.mo"
  find "$d" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
  dpkg-deb --root-owner-group -Zgzip --build "$d" "$WORK/imgscope-demo_$1_all.deb"
}
make_demo 1.0 20000
make_demo 1.1 25000
rpmbuild --define "_topdir $WORK/rpm" --define "_build_id_links none" -bb "$HERE/src/demo.spec" >/dev/null
RPM=$(ls "$WORK"/rpm/RPMS/noarch/imgscope-rpmdemo-*.rpm)

commit() {  # container, tag, what the step did (its history entry, as a Dockerfile would say it)
  $B config --created-by "$3" "$C"
  # layers 2-5 are steps of one build on layer 0-1's image: only step 1 keeps buildah's "FROM ..." mark, so
  # imgscope's base detection sees one base (layers 0) and the Dockerfile's own layers 1-5
  [ "$2" -ge 2 ] && $B config --history-comment "step $2" "$C"
  $B commit --timestamp "$SOURCE_DATE_EPOCH" --identity-label=false --format oci --rm "$1" "localhost/pkg:$2" >/dev/null
}
next() {  # from-tag -> container id, its root in $M
  C=$($B from "localhost/pkg:$1"); M=$($B mount "$C")
}

# 0: base
C=$($B from scratch); M=$($B mount "$C")
mkdir -p "$M"/usr/{bin,lib,share} "$M"/etc "$M"/var/lib/dpkg/{info,updates} "$M"/tmp
ln -s usr/bin "$M/bin"; ln -s usr/lib "$M/lib"
cp /etc/os-release "$M/etc/os-release"
: > "$M/var/lib/dpkg/status"; : > "$M/var/lib/dpkg/available"
commit "$C" 0 "ADD rootfs.tar /"
DPKG="dpkg --log=/dev/null --force-depends"
# 1: Debian packages
next 0
$DPKG --root="$M" -i "$WORK"/debs/*.deb "$WORK/imgscope-demo_1.0_all.deb" >/dev/null
rm -f "$M"/var/lib/dpkg/*-old
commit "$C" 1 "RUN dpkg -i hello build-essential sensible-utils uuid-dev imgscope-demo_1.0"
# 2: an rpm database, an apk database
next 1
rpm --root "$M" --dbpath /var/lib/rpm --initdb
rpm --root "$M" --dbpath /var/lib/rpm -i --nodeps --noscripts "$RPM"
mkdir -p "$M/lib/apk/db" "$M/usr/share/doc/apk-demo"
cp "$HERE/src/installed.apk" "$M/lib/apk/db/installed"
head -c 9000 /dev/zero | tr '\0' 'l' > "$M/lib/ld-musl-demo.so.1"
ln -s ld-musl-demo.so.1 "$M/lib/libc.musl-demo.so.1"
head -c 700 /dev/zero | tr '\0' 'a' > "$M/usr/share/doc/apk-demo/README"
commit "$C" 2 "RUN rpm -i imgscope-rpmdemo.rpm (and an apk database)"
# 3: a Python venv
next 2
python3 -m venv --without-pip "$M/opt/venv"
python3 -m pip --python "$M/opt/venv/bin/python" install --no-deps --no-compile --no-cache-dir \
  six==1.16.0 idna==3.7 >/dev/null
commit "$C" 3 "RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install six==1.16.0 idna==3.7"
# 4: an npm project
next 3
mkdir -p "$M/app"; cp "$HERE/src/package.json" "$M/app/package.json"
(cd "$M/app" && npm install --no-audit --no-fund --ignore-scripts >/dev/null)
commit "$C" 4 "RUN cd /app && npm install"
# 5: a purge and an upgrade
next 4
$DPKG --root="$M" --purge sensible-utils >/dev/null
$DPKG --root="$M" -i "$WORK/imgscope-demo_1.1_all.deb" >/dev/null
rm -f "$M"/var/lib/dpkg/*-old
commit "$C" 5 "RUN dpkg --purge sensible-utils && dpkg -i imgscope-demo_1.1_all.deb"

rm -rf "$HERE/oci" "$HERE/oci-4"
skopeo copy --quiet "containers-storage:[vfs@$WORK/root+$WORK/run]localhost/pkg:5" "oci:$HERE/oci:1"
# the image before the last step, for imgscope diff: sensible-utils and imgscope-demo 1.0 still there
skopeo copy --quiet "containers-storage:[vfs@$WORK/root+$WORK/run]localhost/pkg:4" "oci:$HERE/oci-4:1"
du -sh "$HERE/oci" "$HERE/oci-4"
