package airmy

import (
	"context"

	"github.com/airmy/airmy-go/option"
)

// PipelineService is /v2/pipelines and their runs.
type PipelineService struct{ c *Client }

// New creates a pipeline.
func (s *PipelineService) New(ctx context.Context, params PipelineNewParams, opts ...option.RequestOption) (*Pipeline, error) {
	return call[Pipeline](ctx, s.c, request{method: "POST", path: "/pipelines", body: params}, opts)
}

// Get reads a pipeline.
func (s *PipelineService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*Pipeline, error) {
	return call[Pipeline](ctx, s.c, request{method: "GET", path: pathf("/pipelines/%s", id)}, opts)
}

// Update changes a pipeline's definition.
func (s *PipelineService) Update(ctx context.Context, id string, params PipelineUpdateParams, opts ...option.RequestOption) (*Pipeline, error) {
	return call[Pipeline](ctx, s.c, request{method: "PATCH", path: pathf("/pipelines/%s", id), body: params}, opts)
}

// List answers one page of pipelines, newest first.
func (s *PipelineService) List(ctx context.Context, params PipelineListParams, opts ...option.RequestOption) (*Page[Pipeline], error) {
	return getPage[Pipeline](ctx, s.c, "/pipelines", encodeQuery(params), opts)
}

// ListAutoPaging walks every pipeline.
func (s *PipelineService) ListAutoPaging(ctx context.Context, params PipelineListParams, opts ...option.RequestOption) *Iter[Pipeline] {
	return newIter[Pipeline](ctx, s.c, "/pipelines", encodeQuery(params), opts)
}

// Delete deletes a pipeline.
func (s *PipelineService) Delete(ctx context.Context, id string, opts ...option.RequestOption) (*PipelineDeleteResponse, error) {
	return call[PipelineDeleteResponse](ctx, s.c, request{method: "DELETE", path: pathf("/pipelines/%s", id)}, opts)
}

// Trigger starts a pipeline run (202: it runs in the background).
func (s *PipelineService) Trigger(ctx context.Context, id string, params PipelineTriggerParams, opts ...option.RequestOption) (*PipelineRun, error) {
	return call[PipelineRun](ctx, s.c, request{method: "POST", path: pathf("/pipelines/%s/trigger", id), body: params}, opts)
}

// TriggerAndWait starts a pipeline run and waits for its end, answering it as it ended.
func (s *PipelineService) TriggerAndWait(ctx context.Context, id string, params PipelineTriggerParams, opts ...option.RequestOption) (*PipelineRun, error) {
	run, err := s.Trigger(ctx, id, params, opts...)
	if err != nil {
		return nil, err
	}
	return s.WaitRun(ctx, id, run.ID, opts...)
}

// WaitRun follows a pipeline run until it ends.
func (s *PipelineService) WaitRun(ctx context.Context, id, runID string, opts ...option.RequestOption) (*PipelineRun, error) {
	st := s.RunEvents(ctx, id, runID, opts...)
	defer st.Close()
	for st.Next() {
		if ev := st.Current(); isPipelineTerminal(ev) && ev.PipelineRun != nil {
			return ev.PipelineRun, nil
		}
	}
	if err := st.Err(); err != nil {
		return nil, err
	}
	return s.GetRun(ctx, id, runID, opts...)
}

// ListRuns answers one page of a pipeline's runs, newest first.
func (s *PipelineService) ListRuns(ctx context.Context, id string, params PipelineRunListParams, opts ...option.RequestOption) (*Page[PipelineRun], error) {
	return getPage[PipelineRun](ctx, s.c, pathf("/pipelines/%s/runs", id), encodeQuery(params), opts)
}

// ListRunsAutoPaging walks every run of a pipeline matching params.
func (s *PipelineService) ListRunsAutoPaging(ctx context.Context, id string, params PipelineRunListParams, opts ...option.RequestOption) *Iter[PipelineRun] {
	return newIter[PipelineRun](ctx, s.c, pathf("/pipelines/%s/runs", id), encodeQuery(params), opts)
}

// GetRun reads a pipeline run.
func (s *PipelineService) GetRun(ctx context.Context, id, runID string, opts ...option.RequestOption) (*PipelineRun, error) {
	return call[PipelineRun](ctx, s.c, request{method: "GET", path: pathf("/pipelines/%s/runs/%s", id, runID)}, opts)
}

// CancelRun cancels a pipeline run and its running steps.
func (s *PipelineService) CancelRun(ctx context.Context, id, runID string, opts ...option.RequestOption) (*PipelineRun, error) {
	return call[PipelineRun](ctx, s.c, request{method: "POST", path: pathf("/pipelines/%s/runs/%s/cancel", id, runID)}, opts)
}

// RunEvents follows a pipeline run's events until its terminal event, resuming after a drop.
func (s *PipelineService) RunEvents(ctx context.Context, id, runID string, opts ...option.RequestOption) *Stream {
	st := &Stream{ctx: ctx, client: s.c, runID: runID, terminal: isPipelineTerminal}
	st.follow = func(st *Stream) request {
		return request{method: "GET", path: pathf("/pipelines/%s/runs/%s/events", id, runID), stream: true, header: st.resumeHeader()}
	}
	st.cfg, st.err = s.c.config(opts)
	st.done = st.err != nil
	return st
}

func isPipelineTerminal(e Event) bool {
	switch e.Type {
	case "pipeline.completed", "pipeline.failed", "pipeline.cancelled", "pipeline.timed_out":
		return true
	}
	return false
}
