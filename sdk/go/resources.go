package airmy

import (
	"context"

	"github.com/airmy/airmy-go/option"
)

// OrganizationService is /v2/organization: the organization of the key in use.
type OrganizationService struct{ c *Client }

// Get reads the organization (its plan and limits).
func (s *OrganizationService) Get(ctx context.Context, opts ...option.RequestOption) (*Organization, error) {
	return call[Organization](ctx, s.c, request{method: "GET", path: "/organization"}, opts)
}

// APIKeyService is /v2/api-keys (scope keys:admin, with an API key, not a session token).
type APIKeyService struct{ c *Client }

// New creates a key; its Secret is shown in this answer only.
func (s *APIKeyService) New(ctx context.Context, params APIKeyNewParams, opts ...option.RequestOption) (*APIKeyWithSecret, error) {
	return call[APIKeyWithSecret](ctx, s.c, request{method: "POST", path: "/api-keys", body: params}, opts)
}

// Get reads a key (never its secret).
func (s *APIKeyService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*APIKey, error) {
	return call[APIKey](ctx, s.c, request{method: "GET", path: pathf("/api-keys/%s", id)}, opts)
}

// List answers one page of keys.
func (s *APIKeyService) List(ctx context.Context, params APIKeyListParams, opts ...option.RequestOption) (*Page[APIKey], error) {
	return getPage[APIKey](ctx, s.c, "/api-keys", encodeQuery(params), opts)
}

// ListAutoPaging walks every key.
func (s *APIKeyService) ListAutoPaging(ctx context.Context, params APIKeyListParams, opts ...option.RequestOption) *Iter[APIKey] {
	return newIter[APIKey](ctx, s.c, "/api-keys", encodeQuery(params), opts)
}

// Rotate gives the key a new secret (shown once); the old one works for 24 h.
func (s *APIKeyService) Rotate(ctx context.Context, id string, opts ...option.RequestOption) (*APIKeyWithSecret, error) {
	return call[APIKeyWithSecret](ctx, s.c, request{method: "POST", path: pathf("/api-keys/%s/rotate", id)}, opts)
}

// Revoke revokes a key at once (DELETE /v2/api-keys/{id}).
func (s *APIKeyService) Revoke(ctx context.Context, id string, opts ...option.RequestOption) (*APIKey, error) {
	return call[APIKey](ctx, s.c, request{method: "DELETE", path: pathf("/api-keys/%s", id)}, opts)
}

// Delete is Revoke, under the name the other services use.
func (s *APIKeyService) Delete(ctx context.Context, id string, opts ...option.RequestOption) (*APIKey, error) {
	return s.Revoke(ctx, id, opts...)
}

// AuthService is /v2/auth: short-lived session tokens.
type AuthService struct{ c *Client }

// NewToken mints a session token (1 h, optionally narrower scopes) for use as a Bearer key.
func (s *AuthService) NewToken(ctx context.Context, params SessionTokenNewParams, opts ...option.RequestOption) (*SessionToken, error) {
	return call[SessionToken](ctx, s.c, request{method: "POST", path: "/auth/token", body: params}, opts)
}

// MetricService is /v2/metrics: time series over the organization's runs.
type MetricService struct{ c *Client }

// Get queries a metric (Metric is required).
func (s *MetricService) Get(ctx context.Context, params MetricGetParams, opts ...option.RequestOption) (*Metric, error) {
	return call[Metric](ctx, s.c, request{method: "GET", path: "/metrics", query: encodeQuery(params)}, opts)
}

// LogService is /v2/logs: the organization's audit log.
type LogService struct{ c *Client }

// List answers one page of audit entries, newest first.
func (s *LogService) List(ctx context.Context, params AuditLogListParams, opts ...option.RequestOption) (*Page[AuditLog], error) {
	return getPage[AuditLog](ctx, s.c, "/logs", encodeQuery(params), opts)
}

// ListAutoPaging walks every audit entry matching params.
func (s *LogService) ListAutoPaging(ctx context.Context, params AuditLogListParams, opts ...option.RequestOption) *Iter[AuditLog] {
	return newIter[AuditLog](ctx, s.c, "/logs", encodeQuery(params), opts)
}

// Verify walks the audit log's hash chain.
func (s *LogService) Verify(ctx context.Context, opts ...option.RequestOption) (*AuditLogVerifyResponse, error) {
	return call[AuditLogVerifyResponse](ctx, s.c, request{method: "GET", path: "/logs/verify"}, opts)
}

// AlertService is /v2/alerts: alert rules over metrics, and their events.
type AlertService struct{ c *Client }

// New creates an alert rule.
func (s *AlertService) New(ctx context.Context, params AlertNewParams, opts ...option.RequestOption) (*Alert, error) {
	return call[Alert](ctx, s.c, request{method: "POST", path: "/alerts", body: params}, opts)
}

// Get reads an alert rule.
func (s *AlertService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*Alert, error) {
	return call[Alert](ctx, s.c, request{method: "GET", path: pathf("/alerts/%s", id)}, opts)
}

// Update changes an alert rule (Channels, when set, replaces them all).
func (s *AlertService) Update(ctx context.Context, id string, params AlertUpdateParams, opts ...option.RequestOption) (*Alert, error) {
	return call[Alert](ctx, s.c, request{method: "PATCH", path: pathf("/alerts/%s", id), body: params}, opts)
}

// List answers one page of alert rules.
func (s *AlertService) List(ctx context.Context, params AlertListParams, opts ...option.RequestOption) (*Page[Alert], error) {
	return getPage[Alert](ctx, s.c, "/alerts", encodeQuery(params), opts)
}

// ListAutoPaging walks every alert rule.
func (s *AlertService) ListAutoPaging(ctx context.Context, params AlertListParams, opts ...option.RequestOption) *Iter[Alert] {
	return newIter[Alert](ctx, s.c, "/alerts", encodeQuery(params), opts)
}

// Delete deletes an alert rule.
func (s *AlertService) Delete(ctx context.Context, id string, opts ...option.RequestOption) (*AlertDeleteResponse, error) {
	return call[AlertDeleteResponse](ctx, s.c, request{method: "DELETE", path: pathf("/alerts/%s", id)}, opts)
}

// ListEvents answers one page of a rule's transitions, newest first, with their deliveries.
func (s *AlertService) ListEvents(ctx context.Context, id string, params AlertEventListParams, opts ...option.RequestOption) (*Page[AlertEvent], error) {
	return getPage[AlertEvent](ctx, s.c, pathf("/alerts/%s/events", id), encodeQuery(params), opts)
}

// ConnectorService is /v2/connectors: tools agents may call.
type ConnectorService struct{ c *Client }

// New creates a connector.
func (s *ConnectorService) New(ctx context.Context, params ConnectorNewParams, opts ...option.RequestOption) (*Connector, error) {
	return call[Connector](ctx, s.c, request{method: "POST", path: "/connectors", body: params}, opts)
}

// Get reads a connector (built-in ones by name).
func (s *ConnectorService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*Connector, error) {
	return call[Connector](ctx, s.c, request{method: "GET", path: pathf("/connectors/%s", id)}, opts)
}

// Update changes a connector.
func (s *ConnectorService) Update(ctx context.Context, id string, params ConnectorUpdateParams, opts ...option.RequestOption) (*Connector, error) {
	return call[Connector](ctx, s.c, request{method: "PATCH", path: pathf("/connectors/%s", id), body: params}, opts)
}

// List answers one page of connectors.
func (s *ConnectorService) List(ctx context.Context, params ConnectorListParams, opts ...option.RequestOption) (*Page[Connector], error) {
	return getPage[Connector](ctx, s.c, "/connectors", encodeQuery(params), opts)
}

// ListAutoPaging walks every connector.
func (s *ConnectorService) ListAutoPaging(ctx context.Context, params ConnectorListParams, opts ...option.RequestOption) *Iter[Connector] {
	return newIter[Connector](ctx, s.c, "/connectors", encodeQuery(params), opts)
}

// Delete deletes a connector.
func (s *ConnectorService) Delete(ctx context.Context, id string, opts ...option.RequestOption) (*ConnectorDeleteResponse, error) {
	return call[ConnectorDeleteResponse](ctx, s.c, request{method: "DELETE", path: pathf("/connectors/%s", id)}, opts)
}

// GuardrailPolicyService is /v2/guardrails/policies (and the templates they extend).
type GuardrailPolicyService struct{ c *Client }

// New creates a guardrail policy.
func (s *GuardrailPolicyService) New(ctx context.Context, params GuardrailPolicyNewParams, opts ...option.RequestOption) (*GuardrailPolicy, error) {
	return call[GuardrailPolicy](ctx, s.c, request{method: "POST", path: "/guardrails/policies", body: params}, opts)
}

// Get reads a guardrail policy.
func (s *GuardrailPolicyService) Get(ctx context.Context, id string, opts ...option.RequestOption) (*GuardrailPolicy, error) {
	return call[GuardrailPolicy](ctx, s.c, request{method: "GET", path: pathf("/guardrails/policies/%s", id)}, opts)
}

// Update changes a guardrail policy (its version goes up by one).
func (s *GuardrailPolicyService) Update(ctx context.Context, id string, params GuardrailPolicyUpdateParams, opts ...option.RequestOption) (*GuardrailPolicy, error) {
	return call[GuardrailPolicy](ctx, s.c, request{method: "PATCH", path: pathf("/guardrails/policies/%s", id), body: params}, opts)
}

// List answers one page of guardrail policies.
func (s *GuardrailPolicyService) List(ctx context.Context, params GuardrailPolicyListParams, opts ...option.RequestOption) (*Page[GuardrailPolicy], error) {
	return getPage[GuardrailPolicy](ctx, s.c, "/guardrails/policies", encodeQuery(params), opts)
}

// ListAutoPaging walks every guardrail policy.
func (s *GuardrailPolicyService) ListAutoPaging(ctx context.Context, params GuardrailPolicyListParams, opts ...option.RequestOption) *Iter[GuardrailPolicy] {
	return newIter[GuardrailPolicy](ctx, s.c, "/guardrails/policies", encodeQuery(params), opts)
}

// Delete deletes a guardrail policy.
func (s *GuardrailPolicyService) Delete(ctx context.Context, id string, opts ...option.RequestOption) (*GuardrailPolicyDeleteResponse, error) {
	return call[GuardrailPolicyDeleteResponse](ctx, s.c, request{method: "DELETE", path: pathf("/guardrails/policies/%s", id)}, opts)
}

// Templates lists the built-in templates a policy can extend.
func (s *GuardrailPolicyService) Templates(ctx context.Context, opts ...option.RequestOption) (*Page[GuardrailTemplate], error) {
	return getPage[GuardrailTemplate](ctx, s.c, "/guardrails/templates", nil, opts)
}
