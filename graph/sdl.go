package graph

import (
	"bytes"
	"sync"

	"github.com/vektah/gqlparser/v2/formatter"

	"github.com/ownerhub/ownerhub/graph/generated"
)

// SDL is the whole schema as clients load it (graphql-codegen, Apollo,
// Relay): every type, directive and description of graph/schema/*.graphqls,
// printed from the schema the server runs by gqlparser's formatter, types in
// name order. The committed schema.graphql at the repository's root is this
// text (TestPublishedSchemaIsCurrent), and GET /schema.graphql serves it; see
// docs/transport.md.
func SDL() []byte {
	sdlOnce.Do(func() {
		var b bytes.Buffer
		formatter.NewFormatter(&b, formatter.WithIndent("  ")).FormatSchema(generated.NewExecutableSchema(generated.Config{}).Schema())
		sdl = b.Bytes()
	})
	return sdl
}

var (
	sdlOnce sync.Once
	sdl     []byte
)
