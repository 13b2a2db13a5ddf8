package airmy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/airmy/airmy-go/internal/config"
	"github.com/airmy/airmy-go/option"
)

// request is one call of the API, before options and retries.
type request struct {
	method string
	path   string // appended to the base URL, params already escaped
	query  url.Values
	body   any
	stream bool        // Accept text/event-stream; the body is left open for the caller
	header http.Header // e.g. Last-Event-ID
}

// pathf builds a path with escaped parameters: pathf("/runs/%s", id).
func pathf(format string, params ...string) string {
	escaped := make([]any, len(params))
	for i, p := range params {
		escaped[i] = url.PathEscape(p)
	}
	return fmt.Sprintf(format, escaped...)
}

// config is the client's settings with the call's options applied.
func (c *Client) config(opts []option.RequestOption) (*config.Config, error) {
	cfg := c.cfg.Clone()
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// do makes the call and decodes its JSON answer into out (when out is not nil).
func (c *Client) do(ctx context.Context, r request, out any, opts []option.RequestOption) error {
	cfg, err := c.config(opts)
	if err != nil {
		return err
	}
	_, body, err := c.send(ctx, r, cfg)
	if err != nil || out == nil || len(body) == 0 {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("airmy: decoding the answer of %s %s: %w", r.method, r.path, err)
	}
	return nil
}

// send is the SDK's one retry loop. It answers the final response: for a stream with its body
// open (closing it releases the attempt), otherwise with the body read into the []byte.
func (c *Client) send(ctx context.Context, r request, cfg *config.Config) (*http.Response, []byte, error) {
	var payload []byte
	if r.body != nil {
		var err error
		if payload, err = json.Marshal(r.body); err != nil {
			return nil, nil, fmt.Errorf("airmy: encoding the body of %s %s: %w", r.method, r.path, err)
		}
	}
	target := cfg.BaseURL + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	idempotencyKey := ""
	if r.method == http.MethodPost {
		idempotencyKey = cfg.IdempotencyKey
		if idempotencyKey == "" {
			idempotencyKey = cfg.Header.Get("Idempotency-Key")
		}
		if idempotencyKey == "" {
			idempotencyKey = "airmy-go-retry-" + uuid4()
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequest(r.method, target, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("airmy: %w", err)
		}
		if payload != nil {
			req.Body = io.NopCloser(bytes.NewReader(payload))
			req.ContentLength = int64(len(payload))
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
		req.Header.Set("User-Agent", "airmy-go/"+Version)
		req.Header.Set("Accept", "application/json")
		if r.stream {
			req.Header.Set("Accept", "text/event-stream")
		}
		for k, v := range r.header {
			req.Header[k] = v
		}
		for k, v := range cfg.Header {
			req.Header[k] = v
		}
		if idempotencyKey != "" {
			req.Header.Set("Idempotency-Key", idempotencyKey)
		}
		if attempt > 0 {
			req.Header.Set("X-Airmy-Retry-Count", strconv.Itoa(attempt))
		}

		res, body, err := c.attempt(ctx, req, cfg.Timeout, r.stream)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		var retry bool
		var delay time.Duration
		if err != nil {
			retry, delay = retriableTransport(err), backoff(attempt)
		} else if res.StatusCode >= 400 {
			apiErr := newError(res, body)
			err = apiErr
			retry = shouldRetry(res, apiErr)
			delay = backoff(attempt)
			if d, ok := retryAfter(res.Header); ok {
				delay = d
			}
		}
		if err == nil || !retry || attempt >= cfg.MaxRetries {
			if cfg.ResponseInto != nil && res != nil {
				*cfg.ResponseInto = res
			}
			return res, body, err
		}
		if err := sleep(ctx, delay); err != nil {
			return nil, nil, err
		}
	}
}

// attempt makes one request bounded by timeout. An error answer's body is always read; a stream's
// body stays open, and closing it ends the attempt's context.
func (c *Client) attempt(ctx context.Context, req *http.Request, timeout time.Duration, stream bool) (*http.Response, []byte, error) {
	actx, cancel := context.WithCancel(ctx)
	var timedOut atomic.Bool
	timer := (*time.Timer)(nil)
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() {
			timedOut.Store(true)
			cancel()
		})
	}
	stop := func() {
		if timer != nil {
			timer.Stop()
		}
	}
	fail := func(err error) (*http.Response, []byte, error) {
		stop()
		cancel()
		return nil, nil, &ConnectionError{Err: err, timeout: timedOut.Load()}
	}
	res, err := c.http.Do(req.WithContext(actx))
	if err != nil {
		return fail(err)
	}
	if stream && res.StatusCode < 400 {
		stop()
		res.Body = &cancelOnClose{ReadCloser: res.Body, cancel: cancel}
		return res, nil, nil
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return fail(err)
	}
	stop()
	cancel()
	return res, body, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// retriableTransport: every failure to get an answer is retried, except a certificate the client
// does not trust (retrying cannot fix that).
func retriableTransport(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	var hostname x509.HostnameError
	var notTLS tls.RecordHeaderError
	return !(errors.As(err, &unknownCA) || errors.As(err, &invalid) || errors.As(err, &hostname) || errors.As(err, &notTLS))
}

// shouldRetry: the server's x-should-retry wins; else 408, 409 idempotency_key_in_use, 429, 5xx.
func shouldRetry(res *http.Response, e *Error) bool {
	switch res.Header.Get("X-Should-Retry") {
	case "true":
		return true
	case "false":
		return false
	}
	switch {
	case res.StatusCode == http.StatusRequestTimeout, res.StatusCode == http.StatusTooManyRequests, res.StatusCode >= 500:
		return true
	case res.StatusCode == http.StatusConflict:
		return e.Code == "idempotency_key_in_use"
	}
	return false
}

const maxRetryAfter = 60 * time.Second

// retryAfter reads retry-after-ms, else Retry-After (seconds or an HTTP date), when 0 < d ≤ 60 s.
func retryAfter(h http.Header) (time.Duration, bool) {
	var d time.Duration
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil {
		d = time.Duration(ms * float64(time.Millisecond))
	} else if v := h.Get("Retry-After"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil {
			d = time.Duration(s * float64(time.Second))
		} else if at, err := http.ParseTime(v); err == nil {
			d = time.Until(at)
		}
	}
	return d, d > 0 && d <= maxRetryAfter
}

// backoff is min(0.5 s × 2^attempt, 8 s), less up to a quarter of jitter.
func backoff(attempt int) time.Duration {
	d := math.Min(0.5*math.Pow(2, float64(attempt)), 8)
	return time.Duration(d * (1 - 0.25*mrand.Float64()) * float64(time.Second))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func uuid4() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// call makes the request and answers its decoded JSON (nil with the error when it fails).
func call[T any](ctx context.Context, c *Client, r request, opts []option.RequestOption) (*T, error) {
	var out T
	if err := c.do(ctx, r, &out, opts); err != nil {
		return nil, err
	}
	return &out, nil
}

// marshalWithExtra encodes v and adds the keys of extra that v does not have (for params whose
// schema takes fields beyond the named ones).
func marshalWithExtra(v any, extra map[string]any) ([]byte, error) {
	named, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return named, err
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(named, &merged); err != nil {
		return nil, err
	}
	for k, x := range extra {
		if _, taken := merged[k]; taken {
			continue
		}
		raw, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		merged[k] = raw
	}
	return json.Marshal(merged)
}
