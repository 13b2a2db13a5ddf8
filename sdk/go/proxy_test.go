package airmy_test

// A tiny TCP proxy in front of the server: it forwards the TLS bytes as they are, and the test
// decides when a connection dies — cut (both sides closed, as a dropped network does) or reset
// (the client side gets an RST while the server side stays open, so the server finishes the
// request it accepted and its answer is lost).

import (
	"io"
	"net"
	"sync"
	"testing"
)

type proxy struct {
	ln       net.Listener
	target   string
	blackout bool // accept connections and never forward a byte (a server that does not answer)

	mu       sync.Mutex
	open     []*proxiedConn
	accepted int
}

type proxiedConn struct {
	client, upstream net.Conn
	detached         chan struct{} // closed on reset: the server's answer goes nowhere
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// URL is the API's base URL through the proxy.
func (p *proxy) URL() string { return "https://" + p.ln.Addr().String() + "/v2" }

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepted++
		blackout := p.blackout
		p.mu.Unlock()
		if blackout {
			go func() { _, _ = io.Copy(io.Discard, client); client.Close() }()
			p.track(&proxiedConn{client: client})
			continue
		}
		upstream, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		c := &proxiedConn{client: client, upstream: upstream, detached: make(chan struct{})}
		p.track(c)
		go func() { _, _ = io.Copy(upstream, client) }()
		go func() {
			_, err := io.Copy(client, upstream)
			if err != nil {
				select {
				case <-c.detached: // keep reading the server's answer, so that it completes
					_, _ = io.Copy(io.Discard, upstream)
				default:
				}
			}
			upstream.Close()
			client.Close()
		}()
	}
}

func (p *proxy) track(c *proxiedConn) {
	p.mu.Lock()
	p.open = append(p.open, c)
	p.mu.Unlock()
}

func (p *proxy) take() []*proxiedConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := p.open
	p.open = nil
	return conns
}

// cut closes every open connection on both sides.
func (p *proxy) cut() {
	for _, c := range p.take() {
		c.client.Close()
		if c.upstream != nil {
			c.upstream.Close()
		}
	}
}

// resetClients sends the clients an RST and drops what the server answers them.
func (p *proxy) resetClients() {
	for _, c := range p.take() {
		close(c.detached)
		if tcp, ok := c.client.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
		c.client.Close()
	}
}

func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *proxy) close() {
	p.ln.Close()
	p.cut()
}
