package airmy

// Rules that the live server never exercises (it sends \n line ends and one-line data, and no
// x-should-retry): the SSE parser's WHATWG cases and the retry policy's header rules.

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSSEDecoderFollowsTheWHATWGRules(t *testing.T) {
	src := ": a comment\r\n" +
		"retry: 1500\r" +
		"id: 1\nevent: run.created\ndata: {\"a\":\ndata:1}\n\n" + // multi-line data, no space after data:
		"\n\n" + // blank lines without data dispatch nothing
		"event: ignored-without-data\n\n" +
		"id: 2\r\ndata: second\r\n\r\n" +
		"data: cut before its blank line"
	d := newSSEDecoder(strings.NewReader(src))
	first, err := d.next()
	if err != nil || first.event != "run.created" || first.id != "1" || string(first.data) != "{\"a\":\n1}" {
		t.Fatalf("first: %+v %v", first, err)
	}
	if d.retry != 1500*time.Millisecond {
		t.Fatalf("retry %s", d.retry)
	}
	second, err := d.next()
	if err != nil || second.event != "" || second.id != "2" || string(second.data) != "second" {
		t.Fatalf("second: %+v %v", second, err)
	}
	if _, err := d.next(); err != io.EOF {
		t.Fatalf("an unfinished message at the end is dropped: %v", err)
	}
}

func TestRetryPolicyHeaders(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	cases := []struct {
		header http.Header
		want   time.Duration
		ok     bool
	}{
		{h("Retry-After-Ms", "250"), 250 * time.Millisecond, true},
		{h("Retry-After-Ms", "250", "Retry-After", "9"), 250 * time.Millisecond, true},
		{h("Retry-After", "2"), 2 * time.Second, true},
		{h("Retry-After", "61"), 61 * time.Second, false}, // over a minute: back off instead
		{h("Retry-After", "0"), 0, false},
		{h("Retry-After", "soon"), 0, false},
	}
	for _, c := range cases {
		got, ok := retryAfter(c.header)
		if got != c.want || ok != c.ok {
			t.Errorf("%v: %s %v, want %s %v", c.header, got, ok, c.want, c.ok)
		}
	}
	at := time.Now().Add(3 * time.Second).UTC().Format(http.TimeFormat)
	if d, ok := retryAfter(h("Retry-After", at)); !ok || d <= time.Second || d > 3*time.Second {
		t.Errorf("HTTP date %s: %s %v", at, d, ok)
	}

	res := func(status int, kv ...string) *http.Response {
		return &http.Response{StatusCode: status, Header: h(kv...)}
	}
	for _, c := range []struct {
		res  *http.Response
		code string
		want bool
	}{
		{res(500), "internal_error", true},
		{res(500, "X-Should-Retry", "false"), "internal_error", false},
		{res(400, "X-Should-Retry", "true"), "parameter_invalid", true},
		{res(408), "", true},
		{res(429), "rate_limit_exceeded", true},
		{res(409), "idempotency_key_in_use", true},
		{res(409), "conflict", false},
		{res(404), "resource_missing", false},
	} {
		if got := shouldRetry(c.res, &Error{Code: c.code}); got != c.want {
			t.Errorf("%d %v %s: retry %v, want %v", c.res.StatusCode, c.res.Header, c.code, got, c.want)
		}
	}

	for attempt, max := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second} {
		if d := backoff(attempt); d > max || d < max*3/4 {
			t.Errorf("backoff(%d) = %s, want within [%s, %s]", attempt, d, max*3/4, max)
		}
	}
	if !errors.Is(&ConnectionError{Err: io.ErrUnexpectedEOF}, io.ErrUnexpectedEOF) {
		t.Error("ConnectionError does not unwrap")
	}
}
