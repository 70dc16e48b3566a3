#!/usr/bin/env bash
# CRM benchmark: builds bench/crm, which fills DATABASE_URL (an empty
# PostgreSQL database; a database it filled before is reused) with a
# generated group of OWNERS owners, then measures the segments job, audience
# counts and the campaign fan-out through the outbox. See bench/README.md.
#
# Environment: DATABASE_URL (required), OWNERS=1000000, STORES=50,
# HISTORY=24 (months of repair orders), REPEAT=30 (runs per audience count),
# AUDIENCE=20000 (the campaign goes to the store whose consenting owners are
# nearest this), PHASES=segments,vacuum,audiences,dispatch.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?an empty PostgreSQL database, e.g. postgres://postgres@127.0.0.1:5432/ownerhub_crm?sslmode=disable}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ownerhub-crmbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/crm" ./bench/crm
"$tmp/crm" -database-url "$DATABASE_URL" -owners "${OWNERS:-1000000}" -stores "${STORES:-50}" \
	-history "${HISTORY:-24}" -repeat "${REPEAT:-30}" -audience "${AUDIENCE:-20000}" -phases "${PHASES:-segments,vacuum,audiences,dispatch}"
