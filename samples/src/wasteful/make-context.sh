#!/bin/sh
# Make the build context of the "wasteful" sample in $1 (a careless `COPY . .`:
# .git/, node_modules/, logs, editor folders, .env, a Dockerfile, tests, a PEM
# key). Made at build time because git cannot hold a nested .git/ and ignores
# __pycache__/ and .pytest_cache/. All secrets are FAKE ("SECRETVALUE").
set -e
C=$1
rm -rf "$C"; mkdir -p "$C"; cd "$C"
fill() { mkdir -p "$(dirname "$2")"; yes "$1" | head -c "$3" > "$2"; }
# the application (legitimate)
fill 'echo app' run.sh 6000; chmod 0644 run.sh
fill 'print("app")' src/app.py 2000
fill 'logo' assets/logo.bin 7000
printf '{"name":"app","version":"1.0.0"}\n' > package.json
# junk a .dockerignore keeps out
fill 'ref: refs/heads/main' .git/HEAD 23
fill '[core]' .git/config 100
fill 'PACK' .git/objects/pack/pack-0123.pack 6000
fill 'module.exports' node_modules/left-pad/index.js 3000
fill '{}' node_modules/left-pad/package.json 200
fill 'debug line' debug.log 1200
fill 'npm debug' npm-debug.log 800
fill 'ds' .DS_Store 600
fill 'thumbs' Thumbs.db 400
fill '{}' .vscode/settings.json 150
fill '<project/>' .idea/workspace.xml 500
fill 'FROM busybox' Dockerfile 300
fill 'def test(): pass' tests/test_app.py 900
fill 'pyc' src/__pycache__/app.cpython-311.pyc 700
fill '[]' .pytest_cache/v/cache/nodeids 100
printf 'API_TOKEN=imgscope-fake-SECRETVALUE\n' > .env
# a private key found by its content, not its name
mkdir -p certs
printf -- '-----BEGIN PRIVATE KEY-----\nIMGSCOPE-FAKE-PEM-SECRETVALUE-NOT-A-REAL-KEY\n-----END PRIVATE KEY-----\n' > certs/server.key
# fixed mtimes, so the layer is the same on every build
find . -exec touch -h -d "@${SOURCE_DATE_EPOCH:-1700000000}" {} +
