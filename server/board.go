package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/graph"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/workshop"
)

var errNeedToken = models.E(models.CodeUnauthenticated, "请提供看板令牌", "a screen or staff bearer token is required")

// boardHandler serves GET /api/v1/stores/:code/board to the workshop
// screens, which poll it. A poll whose If-None-Match still matches answers
// 304 without a statement: the board version and the screen token's grant
// are kept in memory until a change announces them (workshop.BoardVersionFor,
// docs/performance.md). The ETag also carries the current minute, so that
// minutes-in-status and overdue flags refresh at least once a minute.
//
// The caller's screen or staff token is read by authenticate (with
// refuseBoardToken), so that polls count per principal.
func boardHandler(ws *workshop.Service) echo.HandlerFunc {
	var storeIDs sync.Map // store code -> id; codes never change
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		p, ok := auth.PrincipalFrom(ctx)
		if !ok {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer`)
			return errNeedToken
		}
		code := strings.ToUpper(c.Param("code"))
		var storeID uuid.UUID
		if v, ok := storeIDs.Load(code); ok {
			storeID = v.(uuid.UUID)
		} else {
			s, err := ws.StoreByCode(ctx, code)
			if err != nil {
				return err
			}
			storeID = s.ID
			storeIDs.Store(code, storeID)
		}

		version, now, err := ws.BoardVersionFor(ctx, p, storeID)
		if err != nil {
			return err
		}
		if etagMatches(c.Request().Header.Get("If-None-Match"), boardETag(version, now.Unix())) {
			c.Response().Header().Set("ETag", boardETag(version, now.Unix()))
			return c.NoContent(http.StatusNotModified)
		}
		board, err := ws.Board(ctx, p, storeID)
		if err != nil {
			return err
		}
		c.Response().Header().Set("ETag", boardETag(board.Version, board.GeneratedAt.Unix()))
		return c.JSON(http.StatusOK, graph.BoardOut(board))
	}
}

func boardETag(version, unix int64) string {
	return fmt.Sprintf(`W/"%d-%d"`, version, unix/60)
}

// etagMatches compares If-None-Match (possibly a list) with the current tag,
// weakly, as RFC 9110 asks for If-None-Match.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}
