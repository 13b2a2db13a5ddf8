package airmy

import (
	"context"

	"github.com/airmy/airmy-go/option"
)

// AgentService is /v2/agents.
type AgentService struct{ c *Client }

// New creates an agent.
func (s *AgentService) New(ctx context.Context, params AgentNewParams, opts ...option.RequestOption) (*Agent, error) {
	return call[Agent](ctx, s.c, request{method: "POST", path: "/agents", body: params}, opts)
}

// Get reads an agent.
func (s *AgentService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*Agent, error) {
	return call[Agent](ctx, s.c, request{method: "GET", path: pathf("/agents/%s", id)}, opts)
}

// Update changes the fields set in params (its version goes up by one).
func (s *AgentService) Update(ctx context.Context, id string, params AgentUpdateParams, opts ...option.RequestOption) (*Agent, error) {
	return call[Agent](ctx, s.c, request{method: "PATCH", path: pathf("/agents/%s", id), body: params}, opts)
}

// List answers one page of agents, newest first.
func (s *AgentService) List(ctx context.Context, params AgentListParams, opts ...option.RequestOption) (*Page[Agent], error) {
	return getPage[Agent](ctx, s.c, "/agents", encodeQuery(params), opts)
}

// ListAutoPaging walks every agent.
func (s *AgentService) ListAutoPaging(ctx context.Context, params AgentListParams, opts ...option.RequestOption) *Iter[Agent] {
	return newIter[Agent](ctx, s.c, "/agents", encodeQuery(params), opts)
}

// Delete deletes an agent; its runs stay readable.
func (s *AgentService) Delete(ctx context.Context, id string, opts ...option.RequestOption) (*AgentDeleteResponse, error) {
	return call[AgentDeleteResponse](ctx, s.c, request{method: "DELETE", path: pathf("/agents/%s", id)}, opts)
}
