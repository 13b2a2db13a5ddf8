package airmy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/airmy/airmy-go"
	"github.com/airmy/airmy-go/option"
)

// newClient is a client of the test server with the all-scopes key; opts come after the defaults.
func newClient(t *testing.T, s *server, opts ...option.RequestOption) *airmy.Client {
	t.Helper()
	base := []option.RequestOption{option.WithAPIKey(s.key), option.WithBaseURL(s.baseURL), option.WithCAFile(s.caFile)}
	c, err := airmy.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var agentSeq atomic.Int64

// newMockAgent creates an agent on the offline mock model with the given parameters.
func newMockAgent(t *testing.T, c *airmy.Client, params *airmy.AgentNewParamsParameters) *airmy.Agent {
	t.Helper()
	agent, err := c.Agents.New(testContext(t), airmy.AgentNewParams{
		Name:       fmt.Sprintf("%s %d", t.Name(), agentSeq.Add(1)),
		Model:      airmy.String("mock/sdk-go"),
		Parameters: params,
	})
	if err != nil {
		t.Fatal(err)
	}
	return agent
}

// exchange is one request the SDK sent and what came of it.
type exchange struct {
	method, path   string
	idempotencyKey string
	retryCount     string
	status         int // 0: no answer
	retryAfter     string
	at             time.Time
}

// recorder is an *http.Client for option.WithHTTPClient that remembers every exchange.
type recorder struct {
	mu  sync.Mutex
	log []exchange
	rt  http.RoundTripper
}

func newRecorder(t *testing.T, s *server) *recorder {
	t.Helper()
	pem, err := os.ReadFile(s.caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &recorder{rt: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchange{method: req.Method, path: req.URL.Path, idempotencyKey: req.Header.Get("Idempotency-Key"),
		retryCount: req.Header.Get("X-Airmy-Retry-Count"), at: time.Now()}
	res, err := r.rt.RoundTrip(req)
	if res != nil {
		ex.status, ex.retryAfter = res.StatusCode, res.Header.Get("Retry-After")
	}
	r.mu.Lock()
	r.log = append(r.log, ex)
	r.mu.Unlock()
	return res, err
}

func (r *recorder) client() *http.Client { return &http.Client{Transport: r} }

func (r *recorder) exchanges() []exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]exchange(nil), r.log...)
}

// eventually polls cond (a read of the API) until it holds, for state the API cannot push.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
