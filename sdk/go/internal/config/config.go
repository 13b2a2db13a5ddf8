// Package config holds the settings that client and request options write (see package option).
package config

import (
	"net/http"
	"time"
)

// Config is what one request is made with: the client's settings, then the call's options.
type Config struct {
	APIKey         string
	BaseURL        string
	MaxRetries     int
	Timeout        time.Duration // per attempt; 0 means none
	CAFile         string        // client-level only: read when the client builds its transport
	HTTPClient     *http.Client  // client-level only
	Header         http.Header   // sent on every request, after the SDK's own headers
	IdempotencyKey string        // per call: overrides the generated key of a POST
	ResponseInto   **http.Response
}

// Clone copies c so that a call's options cannot change the client's settings.
func (c *Config) Clone() *Config {
	d := *c
	d.Header = c.Header.Clone()
	if d.Header == nil {
		d.Header = http.Header{}
	}
	return &d
}
