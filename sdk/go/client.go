// Package airmy is the Go client of the AIRMY v2 API.
//
//	client, err := airmy.NewClient(option.WithCAFile(".airmy/tls/ca.pem")) // AIRMY_API_KEY, AIRMY_BASE_URL
//	run, err := client.Runs.New(ctx, airmy.RunNewParams{AgentID: "ag_01HXYZ", Input: map[string]any{"query": "Q1?"}})
//
// Every call takes a context first and options last (package option); failures are *Error (an
// answer ≥ 400) or *ConnectionError (no answer). Requests are retried (2 times by default) on
// connection errors, timeouts, 408, 409 idempotency_key_in_use, 429 and 5xx, and every POST
// carries one Idempotency-Key for all its attempts, so a retry never creates a second object.
package airmy

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/airmy/airmy-go/internal/config"
	"github.com/airmy/airmy-go/option"
)

// Version is the SDK's version, sent in the User-Agent as airmy-go/<version>.
const Version = "0.1.0"

// DefaultBaseURL is used when neither option.WithBaseURL nor AIRMY_BASE_URL is set.
const DefaultBaseURL = "https://127.0.0.1:8443/v2"

// Client holds one service per resource of the API, named as in the API.
type Client struct {
	cfg  *config.Config
	http *http.Client

	Organization      *OrganizationService
	APIKeys           *APIKeyService
	Auth              *AuthService
	Agents            *AgentService
	Runs              *RunService
	Deployments       *DeploymentService
	Pipelines         *PipelineService
	Metrics           *MetricService
	Logs              *LogService
	Alerts            *AlertService
	Connectors        *ConnectorService
	GuardrailPolicies *GuardrailPolicyService
}

// NewClient makes a client. Without options it reads AIRMY_API_KEY and AIRMY_BASE_URL (default
// https://127.0.0.1:8443/v2) and trusts the system's certificate pool (SSL_CERT_FILE included).
func NewClient(opts ...option.RequestOption) (*Client, error) {
	cfg := &config.Config{
		APIKey:     os.Getenv("AIRMY_API_KEY"),
		BaseURL:    strings.TrimRight(os.Getenv("AIRMY_BASE_URL"), "/"),
		MaxRetries: 2,
		Timeout:    60 * time.Second,
		Header:     http.Header{},
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	if cfg.APIKey == "" {
		return nil, fmt.Errorf("airmy: no API key: pass option.WithAPIKey or set AIRMY_API_KEY")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		transport, err := newTransport(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		hc = &http.Client{Transport: transport}
	} else if cfg.CAFile != "" {
		return nil, fmt.Errorf("airmy: option.WithCAFile and option.WithHTTPClient do not combine: put the CA in your client's TLS config")
	}
	c := &Client{cfg: cfg, http: hc}
	c.Organization = &OrganizationService{c}
	c.APIKeys = &APIKeyService{c}
	c.Auth = &AuthService{c}
	c.Agents = &AgentService{c}
	c.Runs = &RunService{c}
	c.Deployments = &DeploymentService{c}
	c.Pipelines = &PipelineService{c}
	c.Metrics = &MetricService{c}
	c.Logs = &LogService{c}
	c.Alerts = &AlertService{c}
	c.Connectors = &ConnectorService{c}
	c.GuardrailPolicies = &GuardrailPolicyService{c}
	return c, nil
}

// newTransport trusts the system pool plus the PEM certificates of caFile, and keeps enough idle
// connections for many calls in flight (net/http keeps 2 per host by default).
func newTransport(caFile string) (*http.Transport, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 256
	if caFile == "" {
		return t, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("airmy: reading the CA file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("airmy: no PEM certificate in %s", caFile)
	}
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// String, Int, Float and Bool return a pointer to v, for the optional fields of params.
func String(v string) *string { return &v }

// Int returns a pointer to v.
func Int(v int64) *int64 { return &v }

// Float returns a pointer to v.
func Float(v float64) *float64 { return &v }

// Bool returns a pointer to v.
func Bool(v bool) *bool { return &v }

// Time returns a pointer to v.
func Time(v time.Time) *time.Time { return &v }
