package main

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/labstack/echo/v4"
)

// acceptsBrotli reports whether an Accept-Encoding header asks for br at
// least as much as for gzip (q-values honoured; "*" stands for both).
func acceptsBrotli(header string) bool {
	q := map[string]float64{}
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		weight := 1.0
		for p := range strings.SplitSeq(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				weight = f
			}
		}
		q[name] = weight
	}
	weight := func(coding string) float64 {
		if w, ok := q[coding]; ok {
			return w
		}
		return q["*"] // 0 when absent
	}
	return weight("br") > 0 && weight("br") >= weight("gzip")
}

// brotliCompress answers with Brotli the clients that ask for it (ahead of
// gzip, or as much), and leaves the rest to the gzip middleware after it,
// which it hides the request's Accept-Encoding from when it compresses
// itself. skip is the gzip middleware's skipper (WebSockets, /metrics).
// Level 4 compresses JSON better than gzip's default at about its speed.
func brotliCompress(skip func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) || !acceptsBrotli(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
				return next(c)
			}
			c.Request().Header.Del(echo.HeaderAcceptEncoding)
			res := c.Response()
			res.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			bw := &brotliWriter{ResponseWriter: res.Writer}
			res.Writer = bw
			defer func() {
				if bw.br != nil {
					_ = bw.br.Close()
				}
				res.Writer = bw.ResponseWriter
			}()
			return next(c)
		}
	}
}

// brotliWriter compresses what is written once a body starts; an answer
// without one (204, 304, HEAD, a bare status) goes out unencoded.
type brotliWriter struct {
	http.ResponseWriter
	br          *brotli.Writer
	wroteHeader bool
}

func (w *brotliWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	if code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified {
		h := w.Header()
		if h.Get(echo.HeaderContentEncoding) == "" {
			h.Del(echo.HeaderContentLength)
			h.Set(echo.HeaderContentEncoding, "br")
			w.br = brotli.NewWriterLevel(w.ResponseWriter, 4)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *brotliWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		if w.Header().Get(echo.HeaderContentType) == "" {
			w.Header().Set(echo.HeaderContentType, http.DetectContentType(b))
		}
		w.WriteHeader(http.StatusOK)
	}
	if w.br == nil {
		return w.ResponseWriter.Write(b)
	}
	return w.br.Write(b)
}

func (w *brotliWriter) Flush() {
	if w.br != nil {
		_ = w.br.Flush()
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *brotliWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *brotliWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
