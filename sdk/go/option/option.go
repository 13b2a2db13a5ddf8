// Package option holds the functional options of airmy.NewClient and of every call:
//
//	client, err := airmy.NewClient(option.WithAPIKey(key), option.WithCAFile(".airmy/tls/ca.pem"))
//	run, err := client.Runs.Get(ctx, id, option.WithMaxRetries(0))
//
// Options given to a call apply to that call only, after the client's. WithCAFile and
// WithHTTPClient shape the client's transport and are only meaningful in NewClient.
package option

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/airmy/airmy-go/internal/config"
)

// RequestOption changes the settings of a client or of one call.
type RequestOption func(*config.Config) error

// WithAPIKey sets the API key (or session token) sent as `Authorization: Bearer <key>`.
// Without it the client reads AIRMY_API_KEY.
func WithAPIKey(key string) RequestOption {
	return func(c *config.Config) error {
		c.APIKey = key
		return nil
	}
}

// WithBaseURL sets the API's base URL, ending in /v2. Without it the client reads AIRMY_BASE_URL,
// else uses https://127.0.0.1:8443/v2.
func WithBaseURL(url string) RequestOption {
	return func(c *config.Config) error {
		if !strings.HasPrefix(url, "https://") && !strings.HasPrefix(url, "http://") {
			return fmt.Errorf("option.WithBaseURL: %q is not an http(s) URL", url)
		}
		c.BaseURL = strings.TrimRight(url, "/")
		return nil
	}
}

// WithMaxRetries sets how many times a failed request is retried (default 2; 0 disables retries).
func WithMaxRetries(n int) RequestOption {
	return func(c *config.Config) error {
		if n < 0 {
			return fmt.Errorf("option.WithMaxRetries: %d is negative", n)
		}
		c.MaxRetries = n
		return nil
	}
}

// WithRequestTimeout bounds each attempt of a request (default 60 s; 0 means no bound). For a
// stream it bounds the wait for the response headers, not the stream's length.
func WithRequestTimeout(d time.Duration) RequestOption {
	return func(c *config.Config) error {
		if d < 0 {
			return fmt.Errorf("option.WithRequestTimeout: %s is negative", d)
		}
		c.Timeout = d
		return nil
	}
}

// WithCAFile trusts the PEM certificates in path (e.g. the server's .airmy/tls/ca.pem) in addition
// to the system's pool (which honours SSL_CERT_FILE). Client-level; not with WithHTTPClient.
func WithCAFile(path string) RequestOption {
	return func(c *config.Config) error {
		c.CAFile = path
		return nil
	}
}

// WithHTTPClient makes requests through hc (its transport, proxy and TLS settings) instead of the
// client's own. Client-level; the SDK still applies its timeout and retries on top.
func WithHTTPClient(hc *http.Client) RequestOption {
	return func(c *config.Config) error {
		if hc == nil {
			return fmt.Errorf("option.WithHTTPClient: nil client")
		}
		c.HTTPClient = hc
		return nil
	}
}

// WithHeader sets a header on every request (a client option) or on one call.
func WithHeader(key, value string) RequestOption {
	return func(c *config.Config) error {
		c.Header.Set(key, value)
		return nil
	}
}

// WithIdempotencyKey sends key as the call's Idempotency-Key instead of a generated one; it is
// reused on every retry of the call, as the generated one is.
func WithIdempotencyKey(key string) RequestOption {
	return func(c *config.Config) error {
		c.IdempotencyKey = key
		return nil
	}
}

// WithResponseInto stores the call's final *http.Response in *dst (its body already read and
// closed), e.g. for `dst.Header.Get("Request-Id")` on a successful call.
func WithResponseInto(dst **http.Response) RequestOption {
	return func(c *config.Config) error {
		c.ResponseInto = dst
		return nil
	}
}
