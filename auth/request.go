package auth

import (
	"context"
	"strings"
)

type clientIPKey struct{}

// WithClientIP records the caller's IP address, which sign-in limits count by.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP is the caller's IP address, or "" when unknown.
func ClientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// BearerToken reads the token of an Authorization value "Bearer <token>"
// (the scheme in any case, RFC 6750); ok is false for any other value. The
// one parser of bearer credentials: HTTP requests, the WebSocket's
// connection_init payload and /metrics all read them through it.
func BearerToken(authorization string) (token string, ok bool) {
	scheme, tok, found := strings.Cut(authorization, " ")
	tok = strings.TrimSpace(tok)
	if !found || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return tok, true
}
