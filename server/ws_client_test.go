package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// A minimal graphql-transport-ws client over a real WebSocket, as the owner
// app and the staff tools speak it: connection_init (with the bearer token
// in its payload) answered by connection_ack, then subscribe / next / error /
// complete per operation id; the server's pings are answered with pongs.

const wsSubprotocol = "graphql-transport-ws"

// wsMessage is one protocol message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient reads in the background so that a test can wait for a message
// with a timeout (coder/websocket closes a connection whose Read is
// cancelled).
type wsClient struct {
	conn *websocket.Conn
	in   chan wsMessage
	done chan struct{}
	stop chan struct{} // closed when the test ends

	mu      sync.Mutex
	readErr error // why reading ended; set before done is closed
	seq     int
}

// wsDial opens a WebSocket to the server's /graphql with the
// graphql-transport-ws subprotocol; no message is sent yet.
func wsDial(t testing.TB, s *testServer) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(s.URL, "http") + "/graphql"
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{wsSubprotocol}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if conn.Subprotocol() != wsSubprotocol {
		t.Fatalf("server chose subprotocol %q", conn.Subprotocol())
	}
	conn.SetReadLimit(8 << 20)
	c := &wsClient{conn: conn, in: make(chan wsMessage, 64), done: make(chan struct{}), stop: make(chan struct{})}
	go c.read()
	t.Cleanup(func() {
		close(c.stop)
		_ = conn.CloseNow()
		<-c.done
	})
	return c
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		_, raw, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		var m wsMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		if m.Type == "ping" {
			_ = c.write(wsMessage{Type: "pong"})
			continue
		}
		select {
		case c.in <- m:
		case <-c.stop:
			return
		}
	}
}

func (c *wsClient) write(m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return c.conn.Write(ctx, websocket.MessageText, b)
}

func (c *wsClient) send(t testing.TB, m wsMessage) {
	t.Helper()
	if err := c.write(m); err != nil {
		t.Fatalf("send %s: %v", m.Type, err)
	}
}

// init sends connection_init, with {"Authorization": "Bearer <token>"} as
// its payload when token is set.
func (c *wsClient) init(t testing.TB, token string) {
	t.Helper()
	m := wsMessage{Type: "connection_init"}
	if token != "" {
		m.Payload, _ = json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	}
	c.send(t, m)
}

// wsConnect dials, initialises with token ("" for none) and waits for the
// connection_ack.
func wsConnect(t testing.TB, s *testServer, token string) *wsClient {
	t.Helper()
	c := wsDial(t, s)
	c.init(t, token)
	m, ok := c.recv(5 * time.Second)
	if !ok || m.Type != "connection_ack" {
		t.Fatalf("want connection_ack, got %+v (ok %v, read error %v)", m, ok, c.err())
	}
	return c
}

// recv returns the next message, or ok=false after timeout or when the
// connection ended.
func (c *wsClient) recv(timeout time.Duration) (wsMessage, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case m := <-c.in:
		return m, true
	case <-c.done:
		select { // a message read just before the end
		case m := <-c.in:
			return m, true
		default:
		}
		return wsMessage{}, false
	case <-timer.C:
		return wsMessage{}, false
	}
}

// err is why reading ended (nil while the connection is open).
func (c *wsClient) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// subscribe starts an operation and returns its id.
func (c *wsClient) subscribe(t testing.TB, query string, vars map[string]any) string {
	t.Helper()
	c.mu.Lock()
	c.seq++
	id := strconv.Itoa(c.seq)
	c.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	c.send(t, wsMessage{ID: id, Type: "subscribe", Payload: payload})
	return id
}

// wsResult is the payload of a next message.
type wsResult struct {
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
}

// nextResult waits for the next message of operation id, which must be a
// "next" without errors, and returns its data.
func (c *wsClient) nextResult(t testing.TB, id string, timeout time.Duration) map[string]any {
	t.Helper()
	m, ok := c.recv(timeout)
	if !ok {
		t.Fatalf("operation %s: no message within %v (read error %v)", id, timeout, c.err())
	}
	if m.ID != id || m.Type != "next" {
		t.Fatalf("operation %s: want next, got %s %s: %s", id, m.ID, m.Type, m.Payload)
	}
	var r wsResult
	if err := json.Unmarshal(m.Payload, &r); err != nil {
		t.Fatalf("next payload: %v: %s", err, m.Payload)
	}
	if len(r.Errors) > 0 || r.Data == nil {
		t.Fatalf("operation %s: next with errors: %s", id, m.Payload)
	}
	return r.Data
}

// waitFor reads next results of operation id until match accepts one, and
// returns it; it fails after timeout. Intermediate results (other changes
// announced meanwhile) are skipped.
func (c *wsClient) waitFor(t testing.TB, id string, timeout time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("operation %s: no matching result within %v", id, timeout)
		}
		if d := c.nextResult(t, id, left); match(d) {
			return d
		}
	}
}

// refusal waits for the answer to an operation the server refuses and
// returns the errors' codes. A subscription whose resolver refuses answers
// as graphql-ws does when creating the source stream fails: a "next" with
// errors and no data, then "complete". An operation refused before it runs
// (validation, or a query sent over the WebSocket) may answer "error".
func (c *wsClient) refusal(t testing.TB, id string, timeout time.Duration) (msgType string, codes []string) {
	t.Helper()
	m, ok := c.recv(timeout)
	if !ok {
		t.Fatalf("operation %s: no answer within %v (read error %v)", id, timeout, c.err())
	}
	if m.ID != id {
		t.Fatalf("answer for operation %q, want %q: %+v", m.ID, id, m)
	}
	var errs []gqlError
	switch m.Type {
	case "error":
		if err := json.Unmarshal(m.Payload, &errs); err != nil {
			t.Fatalf("error payload: %v: %s", err, m.Payload)
		}
	case "next":
		var r wsResult
		if err := json.Unmarshal(m.Payload, &r); err != nil {
			t.Fatalf("next payload: %v: %s", err, m.Payload)
		}
		if len(r.Errors) == 0 || r.Data != nil {
			t.Fatalf("operation %s was not refused: %s", id, m.Payload)
		}
		errs = r.Errors
		if end, ok := c.recv(timeout); !ok || end.ID != id || end.Type != "complete" {
			t.Fatalf("refused operation %s: want complete after the errors, got %+v", id, end)
		}
	default:
		t.Fatalf("operation %s: want a refusal, got %s: %s", id, m.Type, m.Payload)
	}
	for _, e := range errs {
		if e.Message == "" {
			t.Fatalf("operation %s: error without a message: %s", id, m.Payload)
		}
		code, _ := e.Extensions["code"].(string)
		codes = append(codes, code)
	}
	return m.Type, codes
}

// closedWithin waits for the server to close the connection and returns the
// close status (-1 when the connection ended without a close frame).
func (c *wsClient) closedWithin(timeout time.Duration) (websocket.StatusCode, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case <-c.in: // anything before the close
		case <-c.done:
			return websocket.CloseStatus(c.err()), true
		case <-deadline:
			return 0, false
		}
	}
}
