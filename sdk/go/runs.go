package airmy

import (
	"context"
	"net/http"

	"github.com/airmy/airmy-go/option"
)

// RunService is /v2/runs: invoke agents (sync, background, streamed), read, list, cancel, follow.
type RunService struct{ c *Client }

// New creates a run: sync by default (the answer is the finished run, or the run as it stands when
// the server's sync bound passed), or queued at once with Background set. For Stream use Stream.
func (s *RunService) New(ctx context.Context, params RunNewParams, opts ...option.RequestOption) (*Run, error) {
	return call[Run](ctx, s.c, request{method: "POST", path: "/runs", body: params}, opts)
}

// Get reads a run.
func (s *RunService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*Run, error) {
	return call[Run](ctx, s.c, request{method: "GET", path: pathf("/runs/%s", id)}, opts)
}

// List answers one page of runs, newest first.
func (s *RunService) List(ctx context.Context, params RunListParams, opts ...option.RequestOption) (*Page[Run], error) {
	return getPage[Run](ctx, s.c, "/runs", encodeQuery(params), opts)
}

// ListAutoPaging walks every run matching params.
func (s *RunService) ListAutoPaging(ctx context.Context, params RunListParams, opts ...option.RequestOption) *Iter[Run] {
	return newIter[Run](ctx, s.c, "/runs", encodeQuery(params), opts)
}

// Cancel cancels a queued or running run (DELETE /v2/runs/{id}); a finished one is 422.
func (s *RunService) Cancel(ctx context.Context, id string, opts ...option.RequestOption) (*Run, error) {
	return call[Run](ctx, s.c, request{method: "DELETE", path: pathf("/runs/%s", id)}, opts)
}

// Stream creates a streamed run (POST /v2/runs with stream: true) and iterates its events, from
// run.created to the terminal event, resuming by itself after a dropped connection.
func (s *RunService) Stream(ctx context.Context, params RunNewParams, opts ...option.RequestOption) *Stream {
	params.Stream = Bool(true)
	params.Background = nil
	st := s.follow(ctx, "", opts)
	st.open = func() (*http.Response, error) {
		res, _, err := s.c.send(ctx, request{method: "POST", path: "/runs", body: params, stream: true}, st.cfg)
		return res, err
	}
	return st
}

// Events follows an existing run's events (GET /v2/runs/{id}/events) until its terminal event.
func (s *RunService) Events(ctx context.Context, id string, opts ...option.RequestOption) *Stream {
	return s.follow(ctx, id, opts)
}

func (s *RunService) follow(ctx context.Context, id string, opts []option.RequestOption) *Stream {
	st := &Stream{ctx: ctx, client: s.c, runID: id, terminal: isRunTerminal}
	st.follow = func(st *Stream) request {
		if st.runID == "" {
			return request{}
		}
		return request{method: "GET", path: pathf("/runs/%s/events", st.runID), stream: true, header: st.resumeHeader()}
	}
	st.cfg, st.err = s.c.config(opts)
	st.done = st.err != nil
	return st
}

func isRunTerminal(e Event) bool {
	switch e.Type {
	case "run.completed", "run.failed", "run.cancelled", "run.timed_out", "run.expired":
		return true
	}
	return false
}

// NewAndWait creates a background run and waits for its end (following its events), answering the
// terminal run.
func (s *RunService) NewAndWait(ctx context.Context, params RunNewParams, opts ...option.RequestOption) (*Run, error) {
	params.Background = Bool(true)
	params.Stream = nil
	run, err := s.New(ctx, params, opts...)
	if err != nil {
		return nil, err
	}
	return s.Wait(ctx, run.ID, opts...)
}

// Wait follows a run until it ends and answers it as it ended.
func (s *RunService) Wait(ctx context.Context, id string, opts ...option.RequestOption) (*Run, error) {
	if run, err := s.Get(ctx, id, opts...); err != nil || run.Status.terminal() {
		return run, err
	}
	st := s.Events(ctx, id, opts...)
	defer st.Close()
	for st.Next() {
		if ev := st.Current(); isRunTerminal(ev) && ev.Run != nil {
			return ev.Run, nil
		}
	}
	if err := st.Err(); err != nil {
		return nil, err
	}
	return s.Get(ctx, id, opts...)
}

func (s RunStatus) terminal() bool {
	return s != "" && s != RunStatusQueued && s != RunStatusRunning
}
