#!/usr/bin/env bash
# samples/hostile-names.tar: an image whose paths are hostile to an HTML page (issue 15's report test).
# Made by GNU tar + buildah + skopeo (run as root, no network): one layer of small files named
#   </script><script>alert(1)</script>   (a directory chain "<", "script><script>alert(1)<", "script>")
#   <!--x-->&amp;"quote'.txt, a name with U+2028 and U+2029, and an overwritten file (so some bytes are wasted).
# Usage: sudo bash samples/make-hostile-names.sh   (scratch in $WORK, default /tmp/samples-work-hostile)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-/tmp/samples-work-hostile}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}
TS=$SOURCE_DATE_EPOCH
export TZ=UTC LC_ALL=C.UTF-8
ST="--storage-driver vfs --root $WORK/root --runroot $WORK/run"
rm -rf "$WORK"; mkdir -p "$WORK/r1/app" "$WORK/r2/app"
R=$WORK/r1
mkdir -p "$R/</script><script>alert(1)</script>"
head -c 3000 /dev/zero | tr '\0' 'a' > "$R/</script><script>alert(1)</script>/payload.js"
printf 'x%.0s' $(seq 1 1500) > "$R/app/<!--x-->&amp;\"quote'.txt"
printf 'y%.0s' $(seq 1 800) > "$R/app/line$(printf '\u2028')sep$(printf '\u2029')para.txt"
printf 'first version\n%.0s' $(seq 1 200) > "$R/app/config.txt"
printf 'second version\n' > "$WORK/r2/app/config.txt"
for n in 1 2; do
  tar -C "$WORK/r$n" --sort=name --mtime="@$TS" --owner=0 --group=0 --numeric-owner --format=pax \
      -cf "$WORK/layer$n.tar" .
done
c=$(buildah $ST from scratch)
buildah $ST add "$c" "$WORK/layer1.tar" /
buildah $ST commit --format docker --timestamp "$TS" --identity-label=false --rm "$c" localhost/hostile-names:stage >/dev/null
c=$(buildah $ST from localhost/hostile-names:stage)
buildah $ST add "$c" "$WORK/layer2.tar" /
buildah $ST config --created-by 'ADD </script><script>alert(2)</script> /app' "$c"
buildah $ST commit --format docker --timestamp "$TS" --identity-label=false --rm "$c" localhost/hostile-names:1 >/dev/null
rm -f "$HERE/hostile-names.tar"
skopeo copy -q "containers-storage:[vfs@$WORK/root+$WORK/run]localhost/hostile-names:1" \
    "docker-archive:$HERE/hostile-names.tar:localhost/hostile-names:1"
buildah $ST rmi --all >/dev/null 2>&1 || true
echo "wrote $HERE/hostile-names.tar"
