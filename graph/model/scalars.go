package model

import (
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"

	"github.com/ownerhub/ownerhub/models"
)

// MarshalDate writes a models.Date as "YYYY-MM-DD".
func MarshalDate(d models.Date) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(d.String()))
	})
}

var badDate = models.E(models.CodeInvalidArgument, "日期格式应为 YYYY-MM-DD", "a Date must be a string YYYY-MM-DD")

// UnmarshalDate reads "YYYY-MM-DD".
func UnmarshalDate(v any) (models.Date, error) {
	s, ok := v.(string)
	if !ok {
		return models.Date{}, badDate
	}
	d, err := models.ParseDate(s)
	if err != nil {
		return models.Date{}, badDate
	}
	return d, nil
}

// Node is any object with a global ID. The domain types do not know about
// Relay; the resolvers compute their global IDs.
type Node interface{}
