// Package bench holds OwnerHub's benchmarks of the workshop board:
//
//   - board_bench_test.go: Go benchmarks of the domain calls behind a
//     screen's poll (the 304 answer and the full board), with the SQL
//     statements each takes (stmts/op), on the dialect under test.
//   - boardpoll: a load tool that polls a running server over HTTP.
//   - board.sh: starts a server with the demo data and runs boardpoll.
//
// See README.md in this directory.
package bench
