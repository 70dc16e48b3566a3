package graph_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/ownerhub/ownerhub/graph"
)

var updateSchema = flag.Bool("update-schema", false, "rewrite schema.graphql at the repository's root from the loaded schema")

// The published schema.graphql is the schema the server runs: a change to
// graph/schema/*.graphqls without regenerating it fails here, like a change
// without gqlgen generate fails CI. Run with -update-schema to rewrite it.
func TestPublishedSchemaIsCurrent(t *testing.T) {
	const path = "../schema.graphql"
	want := graph.SDL()
	if *updateSchema {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v: run go test ./graph -run TestPublishedSchemaIsCurrent -update-schema", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("schema.graphql differs from the schema the server runs; rewrite it with\n" +
			"  go test ./graph -run TestPublishedSchemaIsCurrent -update-schema")
	}
	if !bytes.Equal(graph.SDL(), want) {
		t.Fatal("a second print differs from the first")
	}
}
