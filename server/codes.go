package main

import "github.com/ownerhub/ownerhub/models"

// Codes and reasons the server's middleware and REST handlers answer with,
// beside the domain's. Every code the server sends is a constant like these
// and a value of the schema's ErrorCode enum (graph/schema/errors.graphqls).
const (
	codePayloadTooLarge  models.Code = "PAYLOAD_TOO_LARGE"
	codeMethodNotAllowed models.Code = "METHOD_NOT_ALLOWED"
	// codeUnsupportedMediaType: a REST body in a media type the route
	// does not read.
	codeUnsupportedMediaType models.Code = "UNSUPPORTED_MEDIA_TYPE"
	// Reasons of UNAUTHENTICATED: the client refreshes on TOKEN_EXPIRED only.
	reasonInvalidToken models.Code = "INVALID_TOKEN"
	reasonTokenExpired models.Code = "TOKEN_EXPIRED"
	// Reason of FORBIDDEN for the tokens of a deleted account.
	reasonAccountDeleted models.Code = "ACCOUNT_DELETED"
)
