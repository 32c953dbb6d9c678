// The pytest-wsmock driver for Go's gorilla/websocket client: docs/drivers.md.
//
// Reads one JSON operation per line on stdin, answers each with one JSON line on stdout;
// diagnostics go to stderr. One connection at a time; a connection failure is reported,
// never fatal. Build it with .ci/install-go (a GOPATH build against Debian's
// golang-github-gorilla-websocket-dev):
//
//	GOPATH=/usr/share/gocode GO111MODULE=off go build -o gorilla_driver gorilla_driver.go
//
// Compression: gorilla's Dialer.EnableCompression is left off (its default), so the client
// offers no permessage-deflate.
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

type request struct {
	Op           string   `json:"op"`
	URL          string   `json:"url"`
	Subprotocols []string `json:"subprotocols"`
	CA           *string  `json:"ca"`
	Timeout      *float64 `json:"timeout"`
	Text         *string  `json:"text"`
	Binary       *string  `json:"binary"`
	Code         *int     `json:"code"`
	Reason       string   `json:"reason"`
}

type answer map[string]interface{}

type message struct {
	binary bool
	data   []byte
}

// connection is the open connection and what its reader goroutine has seen. Reading runs
// in its own goroutine so that a receive timeout does not break the connection (after a
// read deadline passes, gorilla fails every later read).
type connection struct {
	ws       *websocket.Conn
	mu       sync.Mutex
	messages []message
	err      error         // why the reader stopped (nil while it reads)
	done     chan struct{} // closed when the reader stopped
	wake     chan struct{} // signalled on every new message
}

var sentinels = map[error]string{
	websocket.ErrBadHandshake: "websocket.ErrBadHandshake",
	websocket.ErrCloseSent:    "websocket.ErrCloseSent",
	websocket.ErrReadLimit:    "websocket.ErrReadLimit",
	context.DeadlineExceeded:  "context.DeadlineExceeded",
	os.ErrDeadlineExceeded:    "os.ErrDeadlineExceeded",
	io.ErrUnexpectedEOF:       "io.ErrUnexpectedEOF",
	io.EOF:                    "io.EOF",
}

// errorOf names an error by its Go type (sentinel errors by their variable's name).
func errorOf(err error) map[string]string {
	if err == nil {
		return nil
	}
	for sentinel, name := range sentinels {
		if err == sentinel {
			return map[string]string{"type": name, "message": err.Error()}
		}
	}
	return map[string]string{"type": fmt.Sprintf("%T", err), "message": err.Error()}
}

// closeOf is the close as the client saw it: only a *websocket.CloseError carries one. It
// counts as clean unless gorilla made it up (1006): gorilla answers a close frame by itself
// and does not report whether the answer went out.
func closeOf(err error) interface{} {
	var closeErr *websocket.CloseError
	if errors.As(err, &closeErr) {
		return map[string]interface{}{
			"code":   closeErr.Code,
			"reason": closeErr.Text,
			"clean":  closeErr.Code != websocket.CloseAbnormalClosure,
		}
	}
	return nil
}

func seconds(value *float64, fallback float64) time.Duration {
	if value == nil {
		return time.Duration(fallback * float64(time.Second))
	}
	return time.Duration(*value * float64(time.Second))
}

var current *connection

func drop() {
	if current != nil {
		current.ws.Close()
		<-current.done
		current = nil
	}
}

func (c *connection) read() {
	defer close(c.done)
	for {
		kind, data, err := c.ws.ReadMessage()
		c.mu.Lock()
		if err != nil {
			c.err = err
			c.mu.Unlock()
			fmt.Fprintf(os.Stderr, "read: %T: %v\n", err, err)
			return
		}
		c.messages = append(c.messages, message{binary: kind == websocket.BinaryMessage, data: data})
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func connect(req request) answer {
	drop()
	timeout := seconds(req.Timeout, 5)
	dialer := websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: timeout,
		Subprotocols:     req.Subprotocols,
	}
	if req.CA != nil {
		pem, err := os.ReadFile(*req.CA)
		if err != nil {
			return answer{"ok": false, "error": errorOf(err), "close": nil}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return answer{"ok": false, "error": map[string]string{"type": "bad-ca", "message": "no certificate in " + *req.CA}, "close": nil}
		}
		dialer.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ws, resp, err := dialer.DialContext(ctx, req.URL, nil)
	if err != nil {
		failure := errorOf(err)
		if errors.Is(err, websocket.ErrBadHandshake) && resp != nil {
			failure["message"] = fmt.Sprintf("%s (HTTP %s)", err.Error(), resp.Status)
		}
		return answer{"ok": false, "error": failure, "close": nil}
	}
	current = &connection{ws: ws, done: make(chan struct{}), wake: make(chan struct{}, 1)}
	go current.read()
	var subprotocol interface{}
	if ws.Subprotocol() != "" {
		subprotocol = ws.Subprotocol()
	}
	return answer{"ok": true, "subprotocol": subprotocol}
}

func noConnection() answer {
	return answer{"ok": false, "error": map[string]string{"type": "no-connection", "message": "connect first"}, "close": nil}
}

func send(req request) answer {
	c := current
	if c == nil {
		return noConnection()
	}
	kind, data := websocket.TextMessage, []byte{}
	if req.Binary != nil {
		decoded, err := base64.StdEncoding.DecodeString(*req.Binary)
		if err != nil {
			return answer{"ok": false, "error": map[string]string{"type": "bad-request", "message": err.Error()}, "close": nil}
		}
		kind, data = websocket.BinaryMessage, decoded
	} else if req.Text != nil {
		data = []byte(*req.Text)
	}
	c.ws.SetWriteDeadline(time.Now().Add(seconds(req.Timeout, 5)))
	if err := c.ws.WriteMessage(kind, data); err != nil {
		c.mu.Lock()
		readErr := c.err
		c.mu.Unlock()
		return answer{"ok": false, "error": errorOf(err), "close": closeOf(readErr)}
	}
	return answer{"ok": true}
}

func receive(req request) answer {
	c := current
	if c == nil {
		return noConnection()
	}
	timer := time.NewTimer(seconds(req.Timeout, 5))
	defer timer.Stop()
	for {
		c.mu.Lock()
		if len(c.messages) > 0 {
			m := c.messages[0]
			c.messages = c.messages[1:]
			c.mu.Unlock()
			if m.binary {
				return answer{"ok": true, "binary": base64.StdEncoding.EncodeToString(m.data)}
			}
			// Go's JSON encoder replaces invalid UTF-8 (gorilla does not check it) by U+FFFD.
			return answer{"ok": true, "text": string(m.data)}
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return answer{"ok": false, "error": errorOf(err), "close": closeOf(err)}
		}
		select {
		case <-c.wake:
		case <-c.done:
		case <-timer.C:
			return answer{"ok": false, "timeout": true}
		}
	}
}

func closeConnection(req request) answer {
	c := current
	if c == nil {
		return answer{"ok": true, "close": nil}
	}
	current = nil
	timeout := seconds(req.Timeout, 5)
	code := websocket.CloseNormalClosure
	if req.Code != nil {
		code = *req.Code
	}
	select {
	case <-c.done:
	default:
		payload := websocket.FormatCloseMessage(code, req.Reason)
		if err := c.ws.WriteControl(websocket.CloseMessage, payload, time.Now().Add(timeout)); err != nil {
			fmt.Fprintf(os.Stderr, "close: %T: %v\n", err, err)
		}
		select {
		case <-c.done: // the reader got the server's close frame (or the end of TCP)
		case <-time.After(timeout):
			fmt.Fprintln(os.Stderr, "close: no answer within the timeout")
		}
	}
	c.ws.Close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	return answer{"ok": true, "close": closeOf(c.err)}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<20)
	out := bufio.NewWriter(os.Stdout)
	reply := func(a answer) {
		line, err := json.Marshal(a)
		if err != nil {
			line, _ = json.Marshal(answer{"ok": false, "error": errorOf(err), "close": nil})
		}
		out.Write(line)
		out.WriteByte('\n')
		out.Flush()
	}
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			var req request
			if jsonErr := json.Unmarshal(line, &req); jsonErr != nil {
				reply(answer{"ok": false, "error": map[string]string{"type": "bad-request", "message": jsonErr.Error()}, "close": nil})
				continue
			}
			switch req.Op {
			case "connect":
				reply(connect(req))
			case "send":
				reply(send(req))
			case "receive":
				reply(receive(req))
			case "close":
				reply(closeConnection(req))
			case "quit":
				drop()
				reply(answer{"ok": true})
				return
			default:
				reply(answer{"ok": false, "error": map[string]string{"type": "bad-request", "message": "unknown op " + req.Op}, "close": nil})
			}
		}
		if err != nil {
			drop()
			return
		}
	}
}
