package graph

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// The close codes of the graphql-transport-ws protocol (the graphql-ws
// library's PROTOCOL.md) the server closes a connection with. The standard
// client retries none of 4400, 4401, 4409 and 4429; it retries 4403 and 4408
// with its back-off, a bounded number of times.
const (
	// CloseBadRequest: a message that is not JSON, of an unknown type, or
	// missing what its type requires.
	CloseBadRequest = 4400
	// CloseUnauthorized: subscribe before the connection was acknowledged.
	CloseUnauthorized = 4401
	// CloseForbidden: the server refused connection_init (a bad token).
	CloseForbidden = 4403
	// CloseInitTimeout: no connection_init within the initialisation
	// timeout.
	CloseInitTimeout = 4408
	// CloseSubscriberExists: subscribe with the id of a subscription still
	// running on the connection.
	CloseSubscriberExists = 4409
	// CloseTooManyInits: a second connection_init.
	CloseTooManyInits = 4429
)

// graphqlTransportWS is the subprotocol whose rules protocolWebsocket
// enforces; the legacy "graphql-ws" one (subscriptions-transport-ws) gets
// the initialisation timeout and the refusal of a bad token only.
const graphqlTransportWS = "graphql-transport-ws"

// protocolWebsocket accepts connections through inner and holds each one to
// the graphql-transport-ws protocol, closing it with the protocol's close
// code where gqlgen's transport would close with 1000 or 1002 (which
// clients take for "try again") or not at all: gqlgen sees the messages the
// protocol allows only. A refused connection_init is closed by wsInit with
// CloseForbidden.
type protocolWebsocket struct {
	inner       transport.WebsocketImplementation
	initTimeout time.Duration
}

func (p protocolWebsocket) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := p.inner.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	c := &protocolConn{WebsocketConn: conn, strict: conn.Subprotocol() == graphqlTransportWS, running: map[string]bool{}}
	c.mu.Lock()
	c.initTimer = time.AfterFunc(p.initTimeout, func() { _ = c.closeWith(CloseInitTimeout, "Connection initialisation timeout") })
	c.mu.Unlock()
	return c, nil
}

// protocolConn is one connection held to the protocol: it reads each
// message before gqlgen does and watches what gqlgen writes (the
// acknowledgement, the end of each subscription).
type protocolConn struct {
	transport.WebsocketConn
	strict bool

	mu        sync.Mutex
	initTimer *time.Timer     // closes the connection without connection_init
	inited    bool            // connection_init received
	acked     bool            // connection_ack sent
	running   map[string]bool // ids of subscriptions not yet complete
	closed    bool
}

// protocolMessage is what the checks read of a message.
type protocolMessage struct {
	ID      *string         `json:"id"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload"`
}

// NextReader hands gqlgen the next message the protocol allows, closing the
// connection with the protocol's code on one it does not. Pings before the
// acknowledgement are answered here (gqlgen expects connection_init first).
func (c *protocolConn) NextReader() (int, io.Reader, error) {
	for {
		kind, r, err := c.WebsocketConn.NextReader()
		if err != nil {
			return kind, r, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return kind, nil, err
		}
		var m protocolMessage
		if json.Unmarshal(data, &m) != nil {
			if !c.strict {
				return kind, bytes.NewReader(data), nil
			}
			return kind, nil, c.closeWith(CloseBadRequest, "Invalid message received")
		}
		code, reason, pass := c.admit(m)
		if code != 0 {
			return kind, nil, c.closeWith(code, reason)
		}
		if pass {
			return kind, bytes.NewReader(data), nil
		}
	}
}

// admit checks m against the connection's state: a close code and reason
// to end the connection with, or whether gqlgen gets m (false: handled
// here).
func (c *protocolConn) admit(m protocolMessage) (code int, reason string, pass bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m.Type == "connection_init" {
		if c.inited {
			return CloseTooManyInits, "Too many initialisation requests", false
		}
		c.inited = true
		c.initTimer.Stop()
		if c.strict && !objectOrNull(m.Payload) {
			return CloseBadRequest, "Invalid message received", false
		}
		return 0, "", true
	}
	if !c.strict {
		return 0, "", true
	}
	switch m.Type {
	case "ping", "pong":
		if !c.acked {
			// Allowed at any time; gqlgen reads them after the
			// acknowledgement only.
			if m.Type == "ping" {
				_ = c.WebsocketConn.WriteJSON(map[string]string{"type": "pong"})
			}
			return 0, "", false
		}
		return 0, "", true
	case "subscribe":
		if m.ID == nil || *m.ID == "" || !objectOrNull(m.Payload) || len(m.Payload) == 0 || string(m.Payload) == "null" {
			return CloseBadRequest, "Invalid message received", false
		}
		if !c.acked {
			return CloseUnauthorized, "Unauthorized", false
		}
		if c.running[*m.ID] {
			return CloseSubscriberExists, "Subscriber for " + *m.ID + " already exists", false
		}
		c.running[*m.ID] = true
		return 0, "", true
	case "complete":
		if m.ID == nil || *m.ID == "" {
			return CloseBadRequest, "Invalid message received", false
		}
		if !c.acked {
			return CloseUnauthorized, "Unauthorized", false
		}
		return 0, "", true
	}
	return CloseBadRequest, "Invalid message received", false
}

// objectOrNull reports whether a payload is absent, null or a JSON object.
func objectOrNull(p json.RawMessage) bool {
	p = bytes.TrimSpace(p)
	return len(p) == 0 || string(p) == "null" || p[0] == '{'
}

// WriteJSON notes the acknowledgement and the end of subscriptions (an
// "error" or "complete" for their id) on their way out.
func (c *protocolConn) WriteJSON(v any) error {
	if c.strict {
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var m protocolMessage
		if json.Unmarshal(raw, &m) == nil {
			c.mu.Lock()
			switch m.Type {
			case "connection_ack":
				c.acked = true
			case "complete", "error":
				if m.ID != nil {
					delete(c.running, *m.ID)
				}
			}
			c.mu.Unlock()
		}
	}
	return c.WebsocketConn.WriteJSON(v)
}

// closeWith closes the connection with code, once, and returns what
// NextReader reports to gqlgen so that it ends the connection quietly.
func (c *protocolConn) closeWith(code int, reason string) error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.initTimer.Stop()
	c.mu.Unlock()
	if first {
		_ = c.WebsocketConn.WriteClose(code, reason)
	}
	return transport.ErrWebsocketClosed
}

// WriteClose keeps the code of a close this connection already began.
func (c *protocolConn) WriteClose(code int, reason string) error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.initTimer.Stop()
	c.mu.Unlock()
	if !first {
		return nil
	}
	return c.WebsocketConn.WriteClose(code, reason)
}

// SetReadLimit and SetReadDeadline pass gqlgen's settings to the connection.
func (c *protocolConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *protocolConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
