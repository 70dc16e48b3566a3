#!/usr/bin/env bash
# Home-screen benchmark: builds the server and bench/homebench, which starts
# the server (fresh embedded database, or DATABASE_URL seeded when empty,
# rate limits off), measures primary-key point selects and the home query,
# the board's 304, the rendered board and the events list, and stops it.
# See bench/README.md.
#
# Environment (optional): DURATION=3s per run, CONCURRENCY=8,32,
# DATABASE_URL=postgres://... (an empty database, or one with the demo data).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ownerhub-homebench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/ownerhub" ./server
go build -o "$tmp/homebench" ./bench/homebench
"$tmp/homebench" -server "$tmp/ownerhub" -data-dir "$tmp/data" \
	-duration "${DURATION:-3s}" -concurrency "${CONCURRENCY:-8,32}" -database-url "${DATABASE_URL:-}"
