// Command airmy-bench makes BENCH_N sync runs of BENCH_AGENT through the Go SDK, BENCH_CONCURRENCY
// in flight, and prints one JSON line: {"sdk":"go","n":N,"seconds":S,"p50_ms":x,"p99_ms":y}.
// It reads AIRMY_BASE_URL, AIRMY_API_KEY and AIRMY_CA_FILE (for `npm run bench -- sdk`).
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/airmy/airmy-go"
	"github.com/airmy/airmy-go/option"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "airmy-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	agent := os.Getenv("BENCH_AGENT")
	if agent == "" {
		return fmt.Errorf("BENCH_AGENT is not set")
	}
	n, err := envInt("BENCH_N", 1000)
	if err != nil {
		return err
	}
	concurrency, err := envInt("BENCH_CONCURRENCY", 50)
	if err != nil {
		return err
	}
	var opts []option.RequestOption
	if ca := os.Getenv("AIRMY_CA_FILE"); ca != "" {
		opts = append(opts, option.WithCAFile(ca))
	}
	client, err := airmy.NewClient(opts...)
	if err != nil {
		return err
	}
	ctx := context.Background()
	params := airmy.RunNewParams{AgentID: agent, Input: map[string]any{"query": "bench"}}
	call := func() error {
		_, err := client.Runs.New(ctx, params)
		return err
	}
	name := "go"
	// BENCH_RAW=1: the same requests (an Idempotency-Key each, as the SDK sends) through bare
	// net/http, for comparison; BENCH_RAW=plain: without the key (no idempotency work on the server).
	if raw := os.Getenv("BENCH_RAW"); raw != "" {
		if call, err = rawCall(params, raw != "plain"); err != nil {
			return err
		}
		name = "go-raw"
		if raw == "plain" {
			name = "go-raw-plain"
		}
	}

	latencies := make([]time.Duration, n)
	jobs := make(chan int)
	errs := make(chan error, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t0 := time.Now()
				if err := call(); err != nil {
					errs <- err
					return
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	for i := 0; i < n; i++ {
		select {
		case jobs <- i:
		case err := <-errs:
			close(jobs)
			wg.Wait()
			return err
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	seconds := time.Since(start).Seconds()
	sort.Slice(latencies, func(a, b int) bool { return latencies[a] < latencies[b] })
	return json.NewEncoder(os.Stdout).Encode(struct {
		SDK     string  `json:"sdk"`
		N       int     `json:"n"`
		Seconds float64 `json:"seconds"`
		P50     float64 `json:"p50_ms"`
		P99     float64 `json:"p99_ms"`
	}{name, n, round(seconds, 3), ms(percentile(latencies, 50)), ms(percentile(latencies, 99))})
}

// rawCall posts the run with net/http alone (same connection pool size, no retries or options).
func rawCall(params airmy.RunNewParams, idempotent bool) (func() error, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 256
	if ca := os.Getenv("AIRMY_CA_FILE"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		t.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	hc := &http.Client{Transport: t}
	body, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(os.Getenv("AIRMY_BASE_URL"), "/") + "/runs"
	return func() error {
		req, err := http.NewRequest("POST", url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+os.Getenv("AIRMY_API_KEY"))
		req.Header.Set("Content-Type", "application/json")
		if idempotent {
			var b [16]byte
			_, _ = rand.Read(b[:])
			req.Header.Set("Idempotency-Key", "bench-"+hex.EncodeToString(b[:]))
		}
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		var run airmy.Run
		if err := json.Unmarshal(body, &run); err != nil {
			return err
		}
		if res.StatusCode >= 400 {
			return fmt.Errorf("status %d", res.StatusCode)
		}
		return nil
	}, nil
}

// percentile is nearest-rank over sorted latencies.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 2) }

func round(v float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(v*f) / f
}

func envInt(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s=%q is not a positive integer", name, v)
	}
	return n, nil
}
