package main

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ownerhub/ownerhub/graph"
)

// wantClose waits for the server to close c with code, having sent no
// acknowledgement or result first when quiet is set.
func wantClose(t *testing.T, c *wsClient, code websocket.StatusCode, quiet bool) {
	t.Helper()
	deadline := time.After(subWait)
	for {
		select {
		case m := <-c.in:
			if quiet {
				t.Fatalf("want close %d, got %s %s first", code, m.Type, m.Payload)
			}
		case <-c.done:
			if got := websocket.CloseStatus(c.err()); got != code {
				t.Fatalf("closed with %d (%v), want %d", got, c.err(), code)
			}
			return
		case <-deadline:
			t.Fatalf("not closed within %v, want %d", subWait, code)
		}
	}
}

// The server speaks graphql-transport-ws's close codes, so that the
// standard client stops (or backs off) instead of reconnecting at once.
func TestWebSocketCloseCodes(t *testing.T) {
	f := newWorkshop(t, func(_ *Config, d *Deps) { d.WebSocketInitTimeout = 300 * time.Millisecond })
	advisor := f.staff(t, "advisor.sz01")
	board := func(id string) wsMessage {
		p, _ := json.Marshal(map[string]any{"query": subBoardDoc, "variables": map[string]any{"s": f.sz}})
		return wsMessage{ID: id, Type: "subscribe", Payload: p}
	}

	t.Run("bad token in connection_init: 4403", func(t *testing.T) {
		for _, tok := range []string{e2eFlip(advisor), "not-a-token"} {
			c := wsDial(t, f.testServer)
			c.init(t, tok)
			wantClose(t, c, graph.CloseForbidden, true)
		}
		c := wsDial(t, f.testServer)
		c.send(t, wsMessage{Type: "connection_init", Payload: []byte(`{"Authorization":"Basic YWRtaW46YWRtaW4="}`)})
		wantClose(t, c, graph.CloseForbidden, true)
	})
	t.Run("subscribe before connection_init: 4401", func(t *testing.T) {
		c := wsDial(t, f.testServer)
		c.send(t, board("1"))
		wantClose(t, c, graph.CloseUnauthorized, true)
	})
	t.Run("message that is not JSON: 4400", func(t *testing.T) {
		c := wsConnect(t, f.testServer, advisor)
		if err := c.conn.Write(t.Context(), websocket.MessageText, []byte(`{"type": "subscribe", `)); err != nil {
			t.Fatal(err)
		}
		wantClose(t, c, graph.CloseBadRequest, true)
	})
	t.Run("unknown message type: 4400", func(t *testing.T) {
		c := wsConnect(t, f.testServer, advisor)
		c.send(t, wsMessage{Type: "start", ID: "1", Payload: []byte(`{"query":"{ __typename }"}`)})
		wantClose(t, c, graph.CloseBadRequest, true)
	})
	t.Run("subscribe without an id: 4400", func(t *testing.T) {
		c := wsConnect(t, f.testServer, advisor)
		m := board("")
		c.send(t, m)
		wantClose(t, c, graph.CloseBadRequest, true)
	})
	t.Run("connection_init payload not an object: 4400", func(t *testing.T) {
		c := wsDial(t, f.testServer)
		c.send(t, wsMessage{Type: "connection_init", Payload: []byte(`"Bearer x"`)})
		wantClose(t, c, graph.CloseBadRequest, true)
	})
	t.Run("no connection_init in time: 4408", func(t *testing.T) {
		c := wsDial(t, f.testServer)
		start := time.Now()
		wantClose(t, c, graph.CloseInitTimeout, true)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("closed after %v, the timeout is 300ms", d)
		}
	})
	t.Run("second connection_init: 4429", func(t *testing.T) {
		c := wsConnect(t, f.testServer, advisor)
		c.init(t, advisor)
		wantClose(t, c, graph.CloseTooManyInits, true)
	})
	t.Run("subscribe with the id of a running subscription: 4409", func(t *testing.T) {
		c := wsConnect(t, f.testServer, advisor)
		c.send(t, board("dup"))
		c.nextResult(t, "dup", subWait)
		c.send(t, board("dup"))
		wantClose(t, c, graph.CloseSubscriberExists, false)
	})
	t.Run("an id may be used again once its subscription completed", func(t *testing.T) {
		c := wsConnect(t, f.testServer, advisor)
		c.send(t, board("again"))
		c.nextResult(t, "again", subWait)
		c.send(t, wsMessage{ID: "again", Type: "complete"})
		// The server answers with complete once the subscription stopped;
		// the id is free from then on.
		for {
			m, ok := c.recv(subWait)
			if !ok {
				t.Fatalf("no complete for a stopped subscription (%v)", c.err())
			}
			if m.ID == "again" && m.Type == "complete" {
				break
			}
		}
		c.send(t, board("again"))
		c.nextResult(t, "again", subWait)
		// A finished operation's id is free again at once.
		q, _ := json.Marshal(map[string]any{"query": `query { __typename }`})
		c.send(t, wsMessage{ID: "q", Type: "subscribe", Payload: q})
		if typ, _ := c.refusal(t, "q", subWait); typ == "" {
			t.Fatal("no answer")
		}
		c.send(t, wsMessage{ID: "q", Type: "subscribe", Payload: q})
		if typ, _ := c.refusal(t, "q", subWait); typ == "" {
			t.Fatal("no answer")
		}
	})
	t.Run("ping before connection_init is answered", func(t *testing.T) {
		c := wsDial(t, f.testServer)
		c.send(t, wsMessage{Type: "ping"})
		if m, ok := c.recv(subWait); !ok || m.Type != "pong" {
			t.Fatalf("want pong, got %+v (%v)", m, c.err())
		}
		c.init(t, advisor)
		if m, ok := c.recv(subWait); !ok || m.Type != "connection_ack" {
			t.Fatalf("want connection_ack, got %+v (%v)", m, c.err())
		}
		c.send(t, board("1"))
		c.nextResult(t, "1", subWait)
	})
}
