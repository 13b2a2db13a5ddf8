package airmy_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/airmy/airmy-go"
	"github.com/airmy/airmy-go/option"
)

// A streamed run whose connection is cut mid-stream resumes with Last-Event-ID: the caller gets
// every event exactly once, in order — the same sequence a fresh follow of the run replays.
func TestStreamResumesAfterTheConnectionIsCut(t *testing.T) {
	forEachServer(t, true, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		reply := strings.Repeat("streamed tokens arrive one by one ", 6)
		agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockReply: airmy.String(reply), MockChunkSize: airmy.Int(8), MockLatencyMs: airmy.Int(2000)})
		p := startProxy(t, s.addr)
		viaProxy := newClient(t, s, option.WithBaseURL(p.URL()))

		stream := viaProxy.Runs.Stream(ctx, airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"query": "stream it"}})
		defer stream.Close()
		var got []airmy.Event
		var text strings.Builder
		for stream.Next() {
			ev := stream.Current()
			got = append(got, ev)
			text.WriteString(ev.Delta)
			if len(got) == 3 {
				p.cut() // the network drops, mid-stream
			}
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if p.connections() < 2 {
			t.Fatalf("the stream was not resumed: %d connection(s) through the proxy", p.connections())
		}
		last := got[len(got)-1]
		if last.Type != "run.completed" || last.Run == nil || last.Run.Output["result"] != reply {
			t.Fatalf("terminal event: %+v", last)
		}
		if got[0].Type != "run.created" || stream.RunID() != last.Run.ID {
			t.Fatalf("first event %q, run id %q", got[0].Type, stream.RunID())
		}
		if text.String() != reply {
			t.Fatalf("deltas joined: %q, want %q", text.String(), reply)
		}

		// What the server stored, followed from the start without a proxy.
		replay := c.Runs.Events(ctx, last.Run.ID)
		var want []int64
		for replay.Next() {
			want = append(want, replay.Current().SequenceNumber)
		}
		if err := replay.Err(); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("got %d events, the run has %d", len(got), len(want))
		}
		for i, ev := range got {
			if ev.SequenceNumber != want[i] {
				t.Fatalf("event %d has sequence number %d, want %d", i, ev.SequenceNumber, want[i])
			}
		}
	})
}

// The connection is reset after the server accepted a sync POST /v2/runs: the SDK retries it with
// the same Idempotency-Key (through 409 idempotency_key_in_use while the run is going) and gets the
// one run; listing the agent's runs proves there is exactly one.
func TestResetAfterAcceptIsRetriedIntoTheSameRun(t *testing.T) {
	forEachServer(t, true, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockReply: airmy.String("exactly once"), MockLatencyMs: airmy.Int(3000)})
		p := startProxy(t, s.addr)
		rec := newRecorder(t, s)
		viaProxy, err := airmy.NewClient(option.WithAPIKey(s.key), option.WithBaseURL(p.URL()),
			option.WithHTTPClient(rec.client()), option.WithMaxRetries(6))
		if err != nil {
			t.Fatal(err)
		}

		type result struct {
			run *airmy.Run
			res *http.Response
			err error
		}
		done := make(chan result, 1)
		go func() {
			var res *http.Response
			run, err := viaProxy.Runs.New(ctx, airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"query": "once"}},
				option.WithResponseInto(&res))
			done <- result{run, res, err}
		}()
		eventually(t, "the server to accept the run", func() bool {
			page, err := c.Runs.List(ctx, airmy.RunListParams{AgentID: airmy.String(agent.ID)})
			return err == nil && len(page.Data) == 1
		})
		p.resetClients()

		r := <-done
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.run.Status != airmy.RunStatusCompleted || r.run.Output["result"] != "exactly once" {
			t.Fatalf("run: %+v", r.run)
		}
		if r.res.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("the final answer was not the stored one: %v", r.res.Header)
		}
		page, err := c.Runs.List(ctx, airmy.RunListParams{AgentID: airmy.String(agent.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != r.run.ID {
			t.Fatalf("%d runs exist for the agent, want exactly the one answered", len(page.Data))
		}
		ex := rec.exchanges()
		if len(ex) < 2 || ex[0].status != 0 {
			t.Fatalf("exchanges: %+v (the first should have had no answer)", ex)
		}
		for i, e := range ex {
			if e.idempotencyKey != ex[0].idempotencyKey || e.idempotencyKey == "" {
				t.Fatalf("attempt %d sent Idempotency-Key %q, the first sent %q", i, e.idempotencyKey, ex[0].idempotencyKey)
			}
			if i > 0 && e.retryCount != strconv.Itoa(i) {
				t.Fatalf("attempt %d sent X-Airmy-Retry-Count %q", i, e.retryCount)
			}
		}
	})
}

// A 429 is retried after the server's Retry-After, and succeeds.
func TestRateLimitIsRetriedAfterRetryAfter(t *testing.T) {
	forEachServer(t, true, func(t *testing.T, s *server) {
		ctx := testContext(t)
		rec := newRecorder(t, s)
		limited, err := airmy.NewClient(option.WithAPIKey(s.slowKey), option.WithBaseURL(s.baseURL), option.WithHTTPClient(rec.client()))
		if err != nil {
			t.Fatal(err)
		}
		// Without retries: the burst of 2 is spent, then 429 with its Retry-After.
		var limitErr *airmy.Error
		for i := 0; i < 10 && limitErr == nil; i++ {
			_, err := limited.Organization.Get(ctx, option.WithMaxRetries(0))
			if err != nil && !errors.As(err, &limitErr) {
				t.Fatal(err)
			}
		}
		if limitErr == nil || !airmy.IsRateLimit(limitErr) || limitErr.RetryAfter < time.Second || limitErr.Code != "rate_limit_exceeded" {
			t.Fatalf("no 429 with a Retry-After: %#v", limitErr)
		}
		// With the default retries: the call waits as told and succeeds.
		before := len(rec.exchanges())
		org, err := limited.Organization.Get(ctx)
		if err != nil || org.Name != "sdk-go-limited" {
			t.Fatalf("%+v %v", org, err)
		}
		ex := rec.exchanges()[before:]
		if len(ex) < 2 || ex[0].status != 429 || ex[len(ex)-1].status != 200 {
			t.Fatalf("exchanges: %+v, want a 429 then a 200", ex)
		}
		wait, err := time.ParseDuration(ex[0].retryAfter + "s")
		if err != nil {
			t.Fatal(err)
		}
		if gap := ex[1].at.Sub(ex[0].at); gap < wait {
			t.Fatalf("retried %s after the 429, before its Retry-After of %s", gap, wait)
		}
	})
}

// A server that accepts the connection and never answers: the attempt times out.
func TestRequestTimeout(t *testing.T) {
	forEachServer(t, true, func(t *testing.T, s *server) {
		p := startProxy(t, s.addr)
		p.mu.Lock()
		p.blackout = true
		p.mu.Unlock()
		c := newClient(t, s, option.WithBaseURL(p.URL()), option.WithRequestTimeout(300*time.Millisecond), option.WithMaxRetries(1))
		_, err := c.Organization.Get(testContext(t))
		if !airmy.IsTimeout(err) || !airmy.IsConnection(err) {
			t.Fatalf("%#v", err)
		}
		if p.connections() != 2 {
			t.Fatalf("%d attempts, want 2 (one retry)", p.connections())
		}
	})
}
