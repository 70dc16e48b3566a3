#!/usr/bin/env bash
# Board polling benchmark: starts an OwnerHub server on a fresh embedded
# database with the demo data, signs in as manager.sz01, issues a screen
# token for a store, polls the store's board with bench/boardpoll in 304 mode
# and in full mode, prints a table and stops the server. See bench/README.md.
#
# Environment (all optional):
#   DURATION=10s      measured time of each mode
#   CONCURRENCY=8     concurrent pollers
#   CLIENTS=1024      X-Forwarded-For addresses the polls are spread over
#                     (the server rate-limits the board per client IP)
#   STORE=SZ01        store code
#   LOG_LEVEL=warn    server log level; "info" adds the access log line of
#                     every request to what is measured
#   DATABASE_URL=...  run on this PostgreSQL database instead (it must be
#                     empty or hold the demo data; the script seeds an empty one)
#   KEEP=1            keep the temporary directory (server log) afterwards
set -euo pipefail

DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-8}
CLIENTS=${CLIENTS:-1024}
STORE=${STORE:-SZ01}
SERVER_LOG_LEVEL=${LOG_LEVEL:-warn}
PASSWORD=${DEMO_PASSWORD:-ownerhub-demo}

for tool in go curl jq; do
	command -v "$tool" >/dev/null || { echo "board.sh: $tool is required" >&2; exit 1; }
done

cd "$(dirname "$0")/.."
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ownerhub-bench.XXXXXX")
server_pid=

cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if [ -n "${KEEP:-}" ]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Built rather than `go run`: then $! is the server itself, and stopping it
# is a graceful SIGTERM to that one process. The first build takes a while.
echo "building the server and the load tool..." >&2
go build -o "$tmp/ownerhub" ./server
go build -o "$tmp/boardpoll" ./bench/boardpoll

port=$("$tmp/boardpoll" -free-port)
base="http://127.0.0.1:$port"
export DATA_DIR="$tmp/data" HTTP_ADDR="127.0.0.1:$port" TRUST_PROXY_HEADERS=true \
	LOG_LEVEL="$SERVER_LOG_LEVEL" APP_ENV=development DEMO_PASSWORD="$PASSWORD"
if [ -n "${DATABASE_URL:-}" ]; then
	# The server seeds only the embedded database by itself.
	if ! "$tmp/ownerhub" seed >"$tmp/seed.log" 2>&1; then
		grep -q "already has data" "$tmp/seed.log" || { cat "$tmp/seed.log" >&2; exit 1; }
		echo "the database already has data; using it as it is" >&2
	fi
fi

"$tmp/ownerhub" serve >"$tmp/server.out" 2>"$tmp/server.log" &
server_pid=$!
for i in $(seq 1 600); do
	if curl -fsS "$base/readyz" >/dev/null 2>&1; then
		break
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "board.sh: the server stopped:" >&2
		cat "$tmp/server.out" "$tmp/server.log" >&2
		exit 1
	fi
	if [ "$i" = 600 ]; then
		echo "board.sh: the server did not become ready in 60s" >&2
		exit 1
	fi
	sleep 0.1
done
echo "server ready at $base ($(head -n1 "$tmp/server.out"))" >&2

# gql QUERY VARIABLES [TOKEN]: POST /graphql, print the data, fail on errors.
gql() {
	local body out
	body=$(jq -nc --arg q "$1" --argjson v "$2" '{query: $q, variables: $v}')
	out=$(curl -fsS "$base/graphql" -H 'Content-Type: application/json' \
		${3:+-H "Authorization: Bearer $3"} --data-binary "$body")
	if [ "$(jq '.errors | length' <<<"$out")" != 0 ]; then
		echo "board.sh: GraphQL errors: $out" >&2
		return 1
	fi
	jq -c .data <<<"$out"
}

staff_token=$(gql 'mutation($u: String!, $p: String!) {
	staffLogin(input: {username: $u, password: $p}) { session { accessToken } userErrors { code message } } }' \
	"$(jq -nc --arg u manager.sz01 --arg p "$PASSWORD" '{u: $u, p: $p}')" | jq -r '.staffLogin.session.accessToken // empty')
[ -n "$staff_token" ] || { echo "board.sh: staffLogin as manager.sz01 failed" >&2; exit 1; }

store_id=$(gql '{ stores(first: 50) { edges { node { id code } } } }' '{}' |
	jq -r --arg c "$STORE" '.stores.edges[].node | select(.code == $c) | .id')
[ -n "$store_id" ] || { echo "board.sh: no store with code $STORE" >&2; exit 1; }

screen_token=$(gql 'mutation($s: ID!) {
	issueScreenToken(input: {storeId: $s, name: "benchmark"}) { token userErrors { code message } } }' \
	"$(jq -nc --arg s "$store_id" '{s: $s}')" "$staff_token" | jq -r '.issueScreenToken.token // empty')
[ -n "$screen_token" ] || { echo "board.sh: issueScreenToken failed" >&2; exit 1; }

echo "polling $STORE's board: $CONCURRENCY pollers, $DURATION per mode, $(nproc 2>/dev/null || echo '?') CPUs shared by server and load tool" >&2
results=()
for mode in 304 full; do
	echo >&2
	out=$("$tmp/boardpoll" -url "$base" -store "$STORE" -token "$screen_token" -mode "$mode" \
		-duration "$DURATION" -concurrency "$CONCURRENCY" -clients "$CLIENTS")
	grep -v '^result' <<<"$out" >&2
	results+=("$(grep '^result' <<<"$out")")
done

echo
printf '%-6s %10s %10s %9s %9s %11s %7s  %s\n' mode requests 'req/s' 'p50 ms' 'p99 ms' 'stmts/req' orders statuses
for r in "${results[@]}"; do
	IFS=$'\t' read -r _ mode n rps p50 p99 stmts orders statuses <<<"$r"
	printf '%-6s %10s %10s %9s %9s %11s %7s  %s\n' "$mode" "$n" "$rps" "$p50" "$p99" "$stmts" "$orders" "$statuses"
done
db=sqlite
[ -n "${DATABASE_URL:-}" ] && db=postgres
echo "($db, LOG_LEVEL=$SERVER_LOG_LEVEL, $CONCURRENCY pollers, $DURATION per mode; compare the rows, not the absolute figures across machines)"
