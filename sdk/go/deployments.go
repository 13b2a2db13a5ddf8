package airmy

import (
	"context"

	"github.com/airmy/airmy-go/option"
)

// DeploymentService is /v2/deployments: ship an agent's configuration as a version, roll it back.
type DeploymentService struct{ c *Client }

// New deploys the agent's current configuration (202: validated in the background).
func (s *DeploymentService) New(ctx context.Context, params DeploymentNewParams, opts ...option.RequestOption) (*Deployment, error) {
	return call[Deployment](ctx, s.c, request{method: "POST", path: "/deployments", body: params}, opts)
}

// Get reads a deployment.
func (s *DeploymentService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*Deployment, error) {
	return call[Deployment](ctx, s.c, request{method: "GET", path: pathf("/deployments/%s", id)}, opts)
}

// List answers one page of deployments, newest first.
func (s *DeploymentService) List(ctx context.Context, params DeploymentListParams, opts ...option.RequestOption) (*Page[Deployment], error) {
	return getPage[Deployment](ctx, s.c, "/deployments", encodeQuery(params), opts)
}

// ListAutoPaging walks every deployment matching params.
func (s *DeploymentService) ListAutoPaging(ctx context.Context, params DeploymentListParams, opts ...option.RequestOption) *Iter[Deployment] {
	return newIter[Deployment](ctx, s.c, "/deployments", encodeQuery(params), opts)
}

// Rollback rolls back the active deployment id; the answer is the deployment active again.
func (s *DeploymentService) Rollback(ctx context.Context, id string, opts ...option.RequestOption) (*Deployment, error) {
	return call[Deployment](ctx, s.c, request{method: "POST", path: pathf("/deployments/%s/rollback", id)}, opts)
}

// Promote makes the running canary id the active deployment now, whatever its step.
func (s *DeploymentService) Promote(ctx context.Context, id string, opts ...option.RequestOption) (*Deployment, error) {
	return call[Deployment](ctx, s.c, request{method: "POST", path: pathf("/deployments/%s/promote", id)}, opts)
}

// Abort stops the running canary id serving runs at once; the answer is the canary, rolled back.
func (s *DeploymentService) Abort(ctx context.Context, id string, opts ...option.RequestOption) (*Deployment, error) {
	return call[Deployment](ctx, s.c, request{method: "POST", path: pathf("/deployments/%s/abort", id)}, opts)
}

// Logs answers one page of a deployment's log as JSON (GET /v2/deployments/{id}/logs).
func (s *DeploymentService) Logs(ctx context.Context, id string, params DeploymentLogGetParams, opts ...option.RequestOption) (*Page[DeploymentLogLine], error) {
	params.Follow = nil
	return getPage[DeploymentLogLine](ctx, s.c, pathf("/deployments/%s/logs", id), encodeQuery(params), opts)
}

// StreamLogs follows a deployment's log as it is written. It ends at a final status (failed,
// superseded, rolled back); an active deployment goes on streaming the runs it serves, unless
// follow is false, which ends after the lines written so far. It resumes after a drop.
func (s *DeploymentService) StreamLogs(ctx context.Context, id string, follow bool, opts ...option.RequestOption) *Stream {
	st := &Stream{ctx: ctx, client: s.c, eofEnds: true, terminal: func(e Event) bool {
		return e.Type == "deployment.status" && (e.Status == "failed" || e.Status == "superseded" || e.Status == "rolled_back")
	}}
	st.follow = func(st *Stream) request {
		q := encodeQuery(DeploymentLogGetParams{Follow: Bool(follow)})
		return request{method: "GET", path: pathf("/deployments/%s/logs", id), query: q, stream: true, header: st.resumeHeader()}
	}
	st.cfg, st.err = s.c.config(opts)
	st.done = st.err != nil
	return st
}
