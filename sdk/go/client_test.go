package airmy_test

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/airmy/airmy-go"
	"github.com/airmy/airmy-go/option"
)

func TestAgentsCreateGetUpdateDelete(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		agent, err := c.Agents.New(ctx, airmy.AgentNewParams{
			Name: "Support triage", Model: airmy.String("mock/triage"), Instructions: airmy.String("Classify the ticket."),
			Metadata: map[string]string{"team": "support"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(agent.ID, "ag_") || agent.Version != 1 || agent.Metadata["team"] != "support" || agent.CreatedAt.IsZero() {
			t.Fatalf("created agent: %+v", agent)
		}
		updated, err := c.Agents.Update(ctx, agent.ID, airmy.AgentUpdateParams{Instructions: airmy.String("Classify and prioritise.")})
		if err != nil {
			t.Fatal(err)
		}
		if updated.Version != 2 || updated.Instructions == nil || *updated.Instructions != "Classify and prioritise." {
			t.Fatalf("updated agent: %+v", updated)
		}
		got, err := c.Agents.Get(ctx, agent.ID)
		if err != nil || got.Version != 2 || got.Name != "Support triage" {
			t.Fatalf("get: %+v %v", got, err)
		}
		deleted, err := c.Agents.Delete(ctx, agent.ID)
		if err != nil || !deleted.Deleted || deleted.ID != agent.ID {
			t.Fatalf("delete: %+v %v", deleted, err)
		}
		if _, err := c.Agents.Get(ctx, agent.ID); !airmy.IsNotFound(err) {
			t.Fatalf("get after delete: %v, want a 404", err)
		}
	})
}

func TestSyncRunAndItsRequestID(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockReply: airmy.String("Revenue grew on subscriptions.")})
		var res *http.Response
		run, err := c.Runs.New(ctx, airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"query": "Q1?"}},
			option.WithResponseInto(&res))
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != airmy.RunStatusCompleted || run.Output["result"] != "Revenue grew on subscriptions." || run.AgentID != agent.ID {
			t.Fatalf("sync run: %+v", run)
		}
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Request-Id"), "req_") {
			t.Fatalf("response: %d, request id %q", res.StatusCode, res.Header.Get("Request-Id"))
		}
		if ua := res.Request.Header.Get("User-Agent"); ua != "airmy-go/"+airmy.Version {
			t.Fatalf("User-Agent %q", ua)
		}
		if key := res.Request.Header.Get("Idempotency-Key"); !strings.HasPrefix(key, "airmy-go-retry-") {
			t.Fatalf("Idempotency-Key %q", key)
		}
	})
}

func TestBackgroundRunAndWait(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockReply: airmy.String("done in the background"), MockLatencyMs: airmy.Int(300)})
		run, err := c.Runs.NewAndWait(ctx, airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"query": "later"}})
		if err != nil {
			t.Fatal(err)
		}
		if run.Status != airmy.RunStatusCompleted || run.Output["result"] != "done in the background" || run.CompletedAt == nil {
			t.Fatalf("waited run: %+v", run)
		}
		stored, err := c.Runs.Get(ctx, run.ID)
		if err != nil || stored.Status != airmy.RunStatusCompleted {
			t.Fatalf("stored run: %+v %v", stored, err)
		}
	})
}

func TestPipelineTriggerAndWait(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)
		agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockReply: airmy.String("researched")})
		pipeline, err := c.Pipelines.New(ctx, airmy.PipelineNewParams{
			Name:  "one step",
			Steps: []airmy.PipelineNewParamsStep{{ID: "research", AgentID: agent.ID, Input: map[string]any{"query": "{{ input.topic }}"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		prun, err := c.Pipelines.TriggerAndWait(ctx, pipeline.ID, airmy.PipelineTriggerParams{Input: map[string]any{"topic": "Q1"}})
		if err != nil {
			t.Fatal(err)
		}
		if prun.Status != airmy.PipelineRunStatusCompleted || len(prun.Steps) != 1 || prun.Steps[0].Status != airmy.PipelineRunStepStatusCompleted {
			t.Fatalf("pipeline run: %+v", prun)
		}
	})
}

func TestListIteratesMoreThanTwoPages(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		rec := newRecorder(t, s)
		c, ctx := newClient(t, s), testContext(t)
		agent := newMockAgent(t, c, nil)
		created := map[string]bool{}
		for i := 0; i < 5; i++ {
			run, err := c.Runs.New(ctx, airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"i": i}})
			if err != nil {
				t.Fatal(err)
			}
			created[run.ID] = true
		}
		lister, err := airmy.NewClient(option.WithAPIKey(s.key), option.WithBaseURL(s.baseURL), option.WithHTTPClient(rec.client()))
		if err != nil {
			t.Fatal(err)
		}
		it := lister.Runs.ListAutoPaging(ctx, airmy.RunListParams{AgentID: airmy.String(agent.ID), Limit: airmy.Int(2)})
		var seen []string
		for it.Next() {
			seen = append(seen, it.Current().ID)
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(created) {
			t.Fatalf("iterated %d runs, created %d: %v", len(seen), len(created), seen)
		}
		for _, id := range seen {
			if !created[id] {
				t.Fatalf("run %s listed twice or not created here: %v", id, seen)
			}
			delete(created, id)
		}
		pages := 0
		for _, ex := range rec.exchanges() {
			if ex.method == "GET" && ex.path == "/v2/runs" {
				pages++
			}
		}
		if pages != 3 {
			t.Fatalf("%d pages fetched for 5 runs at 2 a page, want 3", pages)
		}
		first, err := c.Runs.List(ctx, airmy.RunListParams{AgentID: airmy.String(agent.ID), Limit: airmy.Int(2)})
		if err != nil || len(first.Data) != 2 || !first.HasMore || first.Data[0].ID != seen[0] {
			t.Fatalf("first page: %+v %v", first, err)
		}
		// The page itself iterates to the end of the list, in the same order.
		var fromPage []string
		for first.Next() {
			fromPage = append(fromPage, first.Current().ID)
		}
		if first.Err() != nil || strings.Join(fromPage, ",") != strings.Join(seen, ",") {
			t.Fatalf("page iteration: %v %v, want %v", fromPage, first.Err(), seen)
		}
	})
}

func TestErrorClasses(t *testing.T) {
	forEachServer(t, true, func(t *testing.T, s *server) {
		c, ctx := newClient(t, s), testContext(t)

		t.Run("400 bad request", func(t *testing.T) {
			_, err := c.Runs.List(ctx, airmy.RunListParams{Limit: airmy.Int(1000)})
			var e *airmy.Error
			if !airmy.IsBadRequest(err) || !errors.As(err, &e) || e.Type == "" || e.Code == "" || e.Param != "limit" || !strings.HasPrefix(e.RequestID, "req_") {
				t.Fatalf("%#v", err)
			}
		})
		t.Run("401 authentication", func(t *testing.T) {
			bad := newClient(t, s, option.WithAPIKey("sk-airmy-not-a-key"))
			_, err := bad.Organization.Get(ctx)
			var e *airmy.Error
			if !airmy.IsAuthentication(err) || !errors.As(err, &e) || e.StatusCode != 401 || e.RequestID == "" {
				t.Fatalf("%#v", err)
			}
		})
		t.Run("403 permission denied", func(t *testing.T) {
			key, err := c.APIKeys.New(ctx, airmy.APIKeyNewParams{Name: airmy.String("read runs"), Scopes: []string{"runs:read"}})
			if err != nil {
				t.Fatal(err)
			}
			narrow := newClient(t, s, option.WithAPIKey(key.Secret))
			_, err = narrow.Agents.New(ctx, airmy.AgentNewParams{Name: "nope", Model: airmy.String("mock/x")})
			var e *airmy.Error
			if !airmy.IsPermissionDenied(err) || !errors.As(err, &e) || e.Code != "insufficient_permissions" {
				t.Fatalf("%#v", err)
			}
		})
		t.Run("404 not found", func(t *testing.T) {
			_, err := c.Runs.Get(ctx, "run_does_not_exist")
			if !airmy.IsNotFound(err) {
				t.Fatalf("%#v", err)
			}
		})
		t.Run("409 in flight and 422 reused idempotency key", func(t *testing.T) {
			agent := newMockAgent(t, c, &airmy.AgentNewParamsParameters{MockLatencyMs: airmy.Int(3000)})
			key := "sdk-go-" + agent.ID
			params := airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"query": "slow"}}
			first := make(chan error, 1)
			go func() {
				_, err := c.Runs.New(ctx, params, option.WithIdempotencyKey(key))
				first <- err
			}()
			eventually(t, "the first run to be accepted", func() bool {
				page, err := c.Runs.List(ctx, airmy.RunListParams{AgentID: airmy.String(agent.ID)})
				return err == nil && len(page.Data) == 1
			})
			_, err := c.Runs.New(ctx, params, option.WithIdempotencyKey(key), option.WithMaxRetries(0))
			var e *airmy.Error
			if !airmy.IsConflict(err) || !errors.As(err, &e) || e.Code != "idempotency_key_in_use" {
				t.Fatalf("same key in flight: %#v", err)
			}
			other := airmy.RunNewParams{AgentID: agent.ID, Input: map[string]any{"query": "another body"}}
			_, err = c.Runs.New(ctx, other, option.WithIdempotencyKey(key), option.WithMaxRetries(0))
			if !airmy.IsUnprocessableEntity(err) || !errors.As(err, &e) || e.Code != "idempotency_key_reused" || e.Param != "Idempotency-Key" {
				t.Fatalf("same key, other body: %#v", err)
			}
			if err := <-first; err != nil {
				t.Fatal(err)
			}
		})
		t.Run("connection error", func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close() // nothing listens there now
			down := newClient(t, s, option.WithBaseURL("https://"+addr+"/v2"), option.WithMaxRetries(0))
			_, err = down.Organization.Get(ctx)
			var e *airmy.ConnectionError
			if !airmy.IsConnection(err) || airmy.IsTimeout(err) || !errors.As(err, &e) {
				t.Fatalf("%#v", err)
			}
		})
		t.Run("untrusted certificate is not retried", func(t *testing.T) {
			rec := newRecorder(t, s)
			rec.rt = &http.Transport{} // the system pool only: the server's CA is not in it
			untrusting, err := airmy.NewClient(option.WithAPIKey(s.key), option.WithBaseURL(s.baseURL), option.WithHTTPClient(rec.client()))
			if err != nil {
				t.Fatal(err)
			}
			_, err = untrusting.Organization.Get(ctx)
			if !airmy.IsConnection(err) || len(rec.exchanges()) != 1 {
				t.Fatalf("%v after %d attempts", err, len(rec.exchanges()))
			}
		})
	})
}

func TestConstructionNeedsAKey(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		t.Setenv("AIRMY_API_KEY", "")
		if _, err := airmy.NewClient(); err == nil || !strings.Contains(err.Error(), "AIRMY_API_KEY") {
			t.Fatalf("no key: %v", err)
		}
		t.Setenv("AIRMY_API_KEY", s.key)
		t.Setenv("AIRMY_BASE_URL", s.baseURL)
		c, err := airmy.NewClient(option.WithCAFile(s.caFile))
		if err != nil {
			t.Fatal(err)
		}
		org, err := c.Organization.Get(testContext(t))
		if err != nil || org.Name != "sdk-go" {
			t.Fatalf("from the environment: %+v %v", org, err)
		}
	})
}
