package airmy_test

import (
	"strings"
	"testing"

	"github.com/airmy/airmy-go"
	"github.com/airmy/airmy-go/option"
)

// Every service once against the live server: the generated types decode its real answers.
func TestEveryResource(t *testing.T) {
	forEachServer(t, true, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		check := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}

		org, err := c.Organization.Get(ctx)
		check("organization", err)
		if org.Limits.RequestsPerMinute != 60000 || !strings.HasPrefix(org.ID, "org_") {
			t.Fatalf("organization: %+v", org)
		}

		key, err := c.APIKeys.New(ctx, airmy.APIKeyNewParams{Name: airmy.String("rotating"), Scopes: []string{"runs:read", "runs:write"}})
		check("api key create", err)
		got, err := c.APIKeys.Get(ctx, key.ID)
		check("api key get", err)
		rotated, err := c.APIKeys.Rotate(ctx, key.ID)
		check("api key rotate", err)
		if got.ID != key.ID || rotated.Secret == key.Secret || rotated.Secret == "" {
			t.Fatalf("key %+v, rotated %+v", got, rotated)
		}
		keys := c.APIKeys.ListAutoPaging(ctx, airmy.APIKeyListParams{})
		found := false
		for keys.Next() {
			found = found || keys.Current().ID == key.ID
		}
		check("api key list", keys.Err())
		revoked, err := c.APIKeys.Revoke(ctx, key.ID)
		check("api key revoke", err)
		if !found || revoked.ID != key.ID {
			t.Fatalf("listed %v, revoked %+v", found, revoked)
		}

		token, err := c.Auth.NewToken(ctx, airmy.SessionTokenNewParams{Scopes: []string{"organization:read"}})
		check("session token", err)
		asToken := newClient(t, s, option.WithAPIKey(token.Token))
		_, err = asToken.Organization.Get(ctx)
		check("organization with the token", err)

		agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockReply: airmy.String("deployed reply")})
		dep, err := c.Deployments.New(ctx, airmy.DeploymentNewParams{AgentID: agent.ID, Description: airmy.String("v1")})
		check("deployment create", err)
		logs := c.Deployments.StreamLogs(ctx, dep.ID, true)
		var final airmy.Event
		for logs.Next() {
			if ev := logs.Current(); ev.Type == "deployment.status" {
				final = ev
				if ev.Status == "active" || ev.Status == "failed" {
					break
				}
			}
		}
		logs.Close()
		check("deployment log stream", logs.Err())
		if final.Status != "active" {
			t.Fatalf("deployment's last status event: %+v", final)
		}
		dep, err = c.Deployments.Get(ctx, dep.ID)
		check("deployment get", err)
		lines, err := c.Deployments.Logs(ctx, dep.ID, airmy.DeploymentLogGetParams{})
		check("deployment logs", err)
		deps, err := c.Deployments.List(ctx, airmy.DeploymentListParams{AgentID: airmy.String(agent.ID)})
		check("deployment list", err)
		if dep.Status != airmy.DeploymentStatusActive || len(lines.Data) == 0 || len(deps.Data) != 1 {
			t.Fatalf("deployment %+v, %d log lines, %d listed", dep, len(lines.Data), len(deps.Data))
		}
		run, err := c.Runs.New(ctx, airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"q": "which version?"}})
		check("run on the deployment", err)
		if run.DeploymentID == nil || *run.DeploymentID != dep.ID {
			t.Fatalf("run's deployment: %v, want %s", run.DeploymentID, dep.ID)
		}

		metric, err := c.Metrics.Get(ctx, airmy.MetricGetParams{Metric: airmy.String("runs"), GroupBy: airmy.String("agent_id")})
		check("metrics", err)
		if metric.Metric != "runs" || len(metric.Series) == 0 {
			t.Fatalf("metrics: %+v", metric)
		}

		entries, err := c.Logs.List(ctx, airmy.AuditLogListParams{Action: airmy.String("agent.created"), Limit: airmy.Int(5)})
		check("audit log", err)
		verified, err := c.Logs.Verify(ctx)
		check("audit verify", err)
		if len(entries.Data) == 0 || entries.Data[0].Action != "agent.created" || !verified.Valid {
			t.Fatalf("audit: %d entries, verification %+v", len(entries.Data), verified)
		}

		alert, err := c.Alerts.New(ctx, airmy.AlertNewParams{Name: "failing", Metric: "errors", Comparator: "gt", Threshold: 0,
			Window: "5m", Channels: []airmy.AlertNewParamsChannel{{Type: "webhook", URL: "http://127.0.0.1:9/hook", Secret: airmy.String("whsec_0123456789abcdef")}}})
		check("alert create", err)
		alert, err = c.Alerts.Update(ctx, alert.ID, airmy.AlertUpdateParams{Threshold: airmy.Float(2)})
		check("alert update", err)
		events, err := c.Alerts.ListEvents(ctx, alert.ID, airmy.AlertEventListParams{})
		check("alert events", err)
		if alert.Threshold != 2 || alert.State != airmy.AlertStateOk || len(events.Data) != 0 || !alert.Channels[0].SecretSet {
			t.Fatalf("alert %+v, %d events", alert, len(events.Data))
		}
		_, err = c.Alerts.Delete(ctx, alert.ID)
		check("alert delete", err)

		conn, err := c.Connectors.New(ctx, airmy.ConnectorNewParams{Name: "weather", Kind: "http", Description: airmy.String("Weather"),
			URL: "https://api.example.com/v1/weather/{{city}}", Secrets: map[string]string{"TOKEN": "s3cret"},
			Headers: map[string]string{"Authorization": "Bearer {{secrets.TOKEN}}"}})
		check("connector create", err)
		conn, err = c.Connectors.Update(ctx, conn.ID, airmy.ConnectorUpdateParams{Description: airmy.String("Weather by city")})
		check("connector update", err)
		builtin, err := c.Connectors.Get(ctx, "calculator")
		check("built-in connector", err)
		if conn.Description == nil || *conn.Description != "Weather by city" || len(conn.Secrets) != 1 || builtin.ID != "calculator" {
			t.Fatalf("connector %+v, built-in %+v", conn, builtin)
		}
		_, err = c.Connectors.Delete(ctx, conn.ID)
		check("connector delete", err)

		templates, err := c.GuardrailPolicies.Templates(ctx)
		check("guardrail templates", err)
		policy, err := c.GuardrailPolicies.New(ctx, airmy.GuardrailPolicyNewParams{Name: "support-" + s.name, Extends: airmy.String("baseline"),
			Rules: []airmy.GuardrailPolicyNewParamsRule{{Kind: "blocked_terms", Action: "block", ApplyTo: airmy.String("output"),
				Extra: map[string]any{"terms": []string{"project bluebird"}}}}})
		check("guardrail policy create", err)
		if len(templates.Data) == 0 || len(policy.Rules) != 1 || !strings.Contains(string(mustJSON(t, policy.Rules[0])), "project bluebird") {
			t.Fatalf("%d templates, policy %+v", len(templates.Data), policy)
		}
		policy, err = c.GuardrailPolicies.Update(ctx, policy.ID, airmy.GuardrailPolicyUpdateParams{Description: airmy.String("no codenames")})
		check("guardrail policy update", err)
		_, err = c.GuardrailPolicies.Delete(ctx, policy.ID)
		check("guardrail policy delete", err)
		if policy.Version != 2 {
			t.Fatalf("policy version %d after one update", policy.Version)
		}
	})
}
