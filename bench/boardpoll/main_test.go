package main

import (
	"strings"
	"testing"
)

func TestParseMetrics(t *testing.T) {
	const text = `# HELP ownerhub_db_statements_total SQL statements sent to the database.
# TYPE ownerhub_db_statements_total counter
ownerhub_db_statements_total 1.234567e+06
# TYPE ownerhub_http_requests_total counter
ownerhub_http_requests_total{method="GET",route="/api/v1/stores/:code/board",status="200"} 12
ownerhub_http_requests_total{method="GET",route="/api/v1/stores/:code/board",status="304"} 30
ownerhub_http_requests_total{method="GET",route="/metrics",status="200"} 7
`
	s, err := parseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if !s.haveStatements || s.statements != 1234567 {
		t.Errorf("statements = %v, %v; want 1234567", s.statements, s.haveStatements)
	}
	if !s.haveReqs || s.boardRequests != 42 {
		t.Errorf("board requests = %v, %v; want 42", s.boardRequests, s.haveReqs)
	}
}

func TestParseMetricsWithoutStatements(t *testing.T) {
	s, err := parseMetrics(strings.NewReader("go_goroutines 12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.haveStatements || s.haveReqs {
		t.Errorf("found metrics that are not there: %+v", s)
	}
	r := &result{status: map[int]int{}, requests: 10, haveMetric: false}
	if got := r.statementsPerRequest(); got != "n/a" {
		t.Errorf("statements per request without the metric = %q, want n/a", got)
	}
}
