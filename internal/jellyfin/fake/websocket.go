package fake

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// wsLostTimeout is SessionWebSocketListener.WebSocketLostTimeout: the
// ForceKeepAlive "Data", and how long a silent socket is kept (§9).
const wsLostTimeout = 60 * time.Second

// wsMessage is an outbound WebSocket message.
type wsMessage struct {
	MessageType string `json:"MessageType"`
	Data        any    `json:"Data,omitempty"`
	MessageID   string `json:"MessageId"`
}

// serveWebSocket is WebSocketHandlerMiddleware → WebSocketManager (§9): an
// upgrade on any path is accepted only with a valid token from the header
// or the query (ApiKey/api_key); otherwise SecurityException → 403
// "Error processing request.". The socket is bound to the caller's session,
// gets ForceKeepAlive(60) and has each KeepAlive answered.
func (s *Server) serveWebSocket(c *call) {
	if !c.auth.ok {
		s.writeError(c, securityError(wsRefusal(c.auth)))
		return
	}
	s.log.line("INF", srcWebSocket, "WS "+q(c.ip())+" request")
	// The response is handed to the WebSocket library; stop the wrapper
	// from writing a second status line after the hijack.
	c.w.committed = true
	c.w.w.Header().Set("X-Response-Time-ms", responseTime(c.w.start))
	// Jellyfin does not check Origin on WebSocket upgrades; cross-site
	// WebSocket hijacking is for the gateway in front of it to stop.
	conn, err := websocket.Accept(c.w.w, c.r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer func() { _ = conn.CloseNow() }()
	se, ok := s.bindSocket(c)
	if !ok {
		return
	}
	defer s.unbindSocket(se)
	s.keepAlive(conn)
}

// wsRefusal is the exception message for an unauthenticated upgrade.
func wsRefusal(a authInfo) string {
	switch {
	case !a.present:
		return "Token is required"
	case a.user != nil && a.user.policy.IsDisabled:
		return "User account has been disabled."
	}
	return "Invalid token."
}

// bindSocket attaches the socket to the caller's session (GetSession).
func (s *Server) bindSocket(c *call) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	se, err := s.callerSession(c)
	if err != nil {
		return nil, false
	}
	se.sockets++
	return se, true
}

func (s *Server) unbindSocket(se *session) {
	s.mu.Lock()
	se.sockets--
	s.mu.Unlock()
}

// keepAlive sends ForceKeepAlive and answers KeepAlive until the client
// goes away or stays silent for the lost-socket timeout.
func (s *Server) keepAlive(conn *websocket.Conn) {
	ctx := context.Background()
	if writeWS(ctx, conn, wsMessage{MessageType: "ForceKeepAlive", Data: int(wsLostTimeout / time.Second), MessageID: newGUID()}) != nil {
		return
	}
	for {
		rctx, cancel := context.WithTimeout(ctx, wsLostTimeout)
		typ, data, err := conn.Read(rctx)
		cancel()
		if err != nil {
			return
		}
		if typ != websocket.MessageText || !isKeepAlive(data) {
			continue
		}
		if writeWS(ctx, conn, wsMessage{MessageType: "KeepAlive", MessageID: newGUID()}) != nil {
			return
		}
	}
}

// isKeepAlive parses an inbound message's type the way System.Text.Json
// reads the SessionMessageType enum: case-insensitively.
func isKeepAlive(data []byte) bool {
	var m struct {
		MessageType string `json:"MessageType"`
	}
	return json.Unmarshal(data, &m) == nil && strings.EqualFold(m.MessageType, "KeepAlive")
}

func writeWS(ctx context.Context, conn *websocket.Conn, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return conn.Write(ctx, websocket.MessageText, b)
}
