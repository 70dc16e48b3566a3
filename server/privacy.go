package main

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/privacy"
)

// exportHandler answers GET /api/v1/me/export: everything held about the
// signed-in owner as one JSON document (the same as exportMyData), to
// download.
func exportHandler(pv *privacy.Service) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		who, ok := auth.PrincipalFrom(ctx)
		if !ok {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer`)
			return models.ErrUnauthenticated
		}
		if _, err := pv.Active(ctx, who); err != nil {
			return err
		}
		ex, err := pv.Export(ctx, who)
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="ownerhub-export.json"`)
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, ex.JSON)
	}
}

// activeOwners runs ownerActive before every GraphQL operation of an
// owner and hands the owner's row and home store it read to the operation, after the document passed the limits (so a refused document still
// costs no SQL). A deleted account is refused with reason ACCOUNT_DELETED;
// any other failure goes to the error presenter like a resolver's, to be
// logged and classified.
func activeOwners(pv *privacy.Service) func(context.Context) (graph.Admitted, error) {
	return func(ctx context.Context) (graph.Admitted, error) {
		who, ok := auth.PrincipalFrom(ctx)
		if !ok {
			return graph.Admitted{}, nil
		}
		in, err := pv.Active(ctx, who)
		if errors.Is(err, privacy.ErrAccountDeleted) {
			e, _ := models.AsError(err)
			return graph.Admitted{}, &gqlerror.Error{Message: e.Message(models.Lang(ctx)),
				Extensions: map[string]any{"code": string(e.Code), "reason": string(reasonAccountDeleted)}}
		}
		return graph.Admitted{Owner: in.Owner, HomeStore: in.HomeStore}, err
	}
}
