package graph

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/ownerhub/ownerhub/auth"
	"github.com/ownerhub/ownerhub/models"
)

// The media types a GraphQL answer is sent as (GraphQL over HTTP).
const (
	MediaJSON            = "application/json"
	MediaGraphQLResponse = "application/graphql-response+json"
)

// PublicQueryCacheControl is the Cache-Control of a successful GET query by
// an anonymous caller: what it reads is public (stores, opening hours,
// slots), the same for everyone asking in that language, so shared caches
// may keep it a minute. Every other answer is not stored (docs/transport.md).
const PublicQueryCacheControl = "public, max-age=60"

// NegotiateMediaType picks the media type of the answer from an Accept
// header, honouring q-values: the acceptable type with the highest q, the
// more specific on a tie, application/json first after that. No header, */*
// and application/* mean application/json. ok is false when Accept allows
// neither type.
func NegotiateMediaType(accept string) (mediaType string, ok bool) {
	if strings.TrimSpace(accept) == "" {
		return MediaJSON, true
	}
	type choice struct {
		q        float64
		specific int
	}
	best := map[string]choice{}
	for part := range strings.SplitSeq(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
				continue
			}
		}
		var matches []string
		specific := 2
		switch mt {
		case MediaJSON, MediaGraphQLResponse:
			matches = []string{mt}
		case "application/*", "*/*":
			matches, specific = []string{MediaJSON, MediaGraphQLResponse}, 1
			if mt == "*/*" {
				specific = 0
			}
		}
		for _, m := range matches {
			// The most specific range that names a type sets its q.
			if c, seen := best[m]; !seen || specific > c.specific {
				best[m] = choice{q, specific}
			}
		}
	}
	for _, m := range []string{MediaJSON, MediaGraphQLResponse} {
		if c, seen := best[m]; seen && c.q > 0 && (mediaType == "" || c.q > best[mediaType].q) {
			mediaType = m
		}
	}
	return mediaType, mediaType != ""
}

// httpTransport serves GraphQL over HTTP, GET and POST, as the GraphQL over
// HTTP specification and its audit (graphql-http) expect:
//
//   - the answer's media type is negotiated (NegotiateMediaType); 406 when
//     Accept allows none;
//   - POST takes application/json (UTF-8) only: 415 otherwise; a body that
//     is not a JSON object with a string "query", or parameters of the
//     wrong JSON type, are 400;
//   - GET runs queries only: a mutation is 405 with "Allow: POST";
//   - a request error (the document does not parse, is not valid, or is
//     refused by the limits) has no "data" key and is 400 under
//     application/graphql-response+json, 200 under application/json;
//   - a successful GET query by an anonymous caller may be cached a minute
//     (PublicQueryCacheControl); everything else keeps the route's no-store.
type httpTransport struct{}

var _ graphql.Transport = httpTransport{}

func (httpTransport) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

func (httpTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	media, ok := NegotiateMediaType(r.Header.Get("Accept"))
	h := w.Header()
	h.Add("Vary", "Accept")
	if !ok {
		writeRequestError(w, r, MediaJSON, http.StatusNotAcceptable, models.E("NOT_ACCEPTABLE",
			"应答只能是 application/json 或 application/graphql-response+json，Accept 均不接受",
			"the answer is application/json or application/graphql-response+json; Accept allows neither"))
		return
	}
	start := graphql.Now()
	params, status, refusal := readParams(r)
	if status != 0 {
		writeRequestError(w, r, media, status, refusal)
		return
	}
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx := r.Context()
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		status := http.StatusOK
		if media == MediaGraphQLResponse {
			status = http.StatusBadRequest
		}
		writeResponse(w, media, status, requestErrors{Errors: resp.Errors, Extensions: resp.Extensions})
		return
	}
	if r.Method == http.MethodGet && rc.Operation.Operation != ast.Query {
		h.Set("Allow", http.MethodPost)
		writeRequestError(w, r, media, http.StatusMethodNotAllowed, models.E("METHOD_NOT_ALLOWED",
			"GET 只能执行查询（query），变更与订阅请用 POST 或 WebSocket", "GET runs queries only; send mutations with POST"))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	resp := responses(ctx)
	if r.Method == http.MethodGet && resp != nil && len(resp.Errors) == 0 {
		if _, signedIn := auth.PrincipalFrom(ctx); !signedIn {
			h.Set("Cache-Control", PublicQueryCacheControl)
			h.Add("Vary", "Accept-Language")
			h.Add("Vary", "Authorization")
		}
	}
	writeResponse(w, media, http.StatusOK, resp)
}

// requestErrors is the answer to a request that did not run: errors and no
// "data" key (GraphQL spec, "Response": data is absent when an error was
// raised before execution).
type requestErrors struct {
	Errors     gqlerror.List  `json:"errors"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// writeRequestError refuses a request the transport cannot run, in the
// caller's language.
func writeRequestError(w http.ResponseWriter, r *http.Request, media string, status int, e *models.Error) {
	writeResponse(w, media, status, requestErrors{Errors: gqlerror.List{{
		Message:    e.Message(models.Lang(r.Context())),
		Extensions: map[string]any{"code": string(e.Code)},
	}}})
}

func writeResponse(w http.ResponseWriter, media string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}`)
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// The refusals of requests that cannot be read.
var (
	errQueryString  = models.E(models.CodeInvalidArgument, "URL 查询参数无法解析", "the query string does not parse")
	errNotJSON      = models.E("UNSUPPORTED_MEDIA_TYPE", "请求须为 application/json", "send the request as application/json")
	errNotUTF8      = models.E("UNSUPPORTED_MEDIA_TYPE", "请求须为 UTF-8 编码", "send the request in UTF-8")
	errBody         = models.E(models.CodeInvalidArgument, "请求体须为 JSON 对象", "the body is not a JSON object")
	errNoQuery      = models.E(models.CodeInvalidArgument, "缺少 query", "query is missing")
	errQuery        = models.E(models.CodeInvalidArgument, "query 须为字符串", "query must be a string")
	errOperation    = models.E(models.CodeInvalidArgument, "operationName 须为字符串", "operationName must be a string")
	errVariables    = models.E(models.CodeInvalidArgument, "variables 须为 JSON 对象", "variables must be a JSON object")
	errExtensionObj = models.E(models.CodeInvalidArgument, "extensions 须为 JSON 对象", "extensions must be a JSON object")
)

// readParams reads a request's GraphQL parameters; a non-zero status
// refuses it with the error returned.
func readParams(r *http.Request) (*graphql.RawParams, int, *models.Error) {
	var body struct {
		Query         json.RawMessage `json:"query"`
		OperationName json.RawMessage `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if r.Method == http.MethodGet {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil {
			return nil, http.StatusBadRequest, errQueryString
		}
		if q.Has("query") {
			body.Query, _ = json.Marshal(q.Get("query"))
		}
		if q.Has("operationName") {
			body.OperationName, _ = json.Marshal(q.Get("operationName"))
		}
		body.Variables, body.Extensions = json.RawMessage(q.Get("variables")), json.RawMessage(q.Get("extensions"))
	} else {
		mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != MediaJSON {
			return nil, http.StatusUnsupportedMediaType, errNotJSON
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return nil, http.StatusUnsupportedMediaType, errNotUTF8
		}
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&body); err != nil || dec.More() {
			return nil, http.StatusBadRequest, errBody
		}
	}
	p := &graphql.RawParams{}
	if jsonNull(body.Query) {
		// Automatic persisted queries send a hash in extensions instead.
		var ext map[string]any
		if jsonNull(body.Extensions) || json.Unmarshal(body.Extensions, &ext) != nil || ext["persistedQuery"] == nil {
			return nil, http.StatusBadRequest, errNoQuery
		}
	} else if json.Unmarshal(body.Query, &p.Query) != nil {
		return nil, http.StatusBadRequest, errQuery
	}
	if !jsonNull(body.OperationName) && json.Unmarshal(body.OperationName, &p.OperationName) != nil {
		return nil, http.StatusBadRequest, errOperation
	}
	if !decodeObject(body.Variables, &p.Variables) {
		return nil, http.StatusBadRequest, errVariables
	}
	if !decodeObject(body.Extensions, &p.Extensions) {
		return nil, http.StatusBadRequest, errExtensionObj
	}
	return p, 0, nil
}

func jsonNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || string(raw) == "null"
}

// decodeObject decodes raw, if set, into a map, numbers kept exact.
func decodeObject(raw json.RawMessage, into *map[string]any) bool {
	if jsonNull(raw) {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(into) == nil && *into != nil && !dec.More()
}
