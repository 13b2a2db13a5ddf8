package airmy_test

// TestMain starts real AIRMY servers (`node src/main.ts serve`, TLS with the generated CA), one on
// SQLite and, when AIRMY_TEST_DATABASE_URL is set, one on a throwaway Postgres database; it makes
// their organizations and keys with the real CLI. Every test runs against each (forEachServer).

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type server struct {
	name    string // sqlite | postgres
	dataDir string
	dbURL   string // AIRMY_DATABASE_URL; "" for SQLite in the data dir
	baseURL string // https://127.0.0.1:PORT/v2
	addr    string // 127.0.0.1:PORT
	caFile  string
	key     string // an all-scopes key of an enterprise organization with a high limit
	slowKey string // a key of an organization limited to 60 requests/min, burst 2
	cmd     *exec.Cmd
}

var (
	repo    string
	node    string
	servers []*server
)

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := runWithServers(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airmy-go tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithServers(m *testing.M) (int, error) {
	var err error
	if repo, err = filepath.Abs("../.."); err != nil {
		return 0, err
	}
	node = filepath.Join(repo, "node_modules", ".bin", "node")
	if _, err := os.Stat(node); err != nil {
		return 0, fmt.Errorf("%s is missing: run npm ci at the repository root first", node)
	}
	servers = []*server{{name: "sqlite"}}
	if pg := os.Getenv("AIRMY_TEST_DATABASE_URL"); pg != "" {
		db, drop, err := throwawayDatabase(pg)
		switch {
		case err == nil:
			defer drop()
			servers = append(servers, &server{name: "postgres", dbURL: db})
		case os.Getenv("CI") == "true":
			return 0, fmt.Errorf("postgres: %w", err)
		default:
			fmt.Fprintln(os.Stderr, "airmy-go tests: Postgres unreachable, SQLite only:", err)
		}
	}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	// All servers and their organizations at once: node takes seconds to start on a busy machine.
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Add(1)
		go func(i int, s *server) {
			defer wg.Done()
			errs[i] = s.start()
		}(i, s)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}

// forEachServer runs fn as a subtest against every server (parallel ones when the test is).
func forEachServer(t *testing.T, parallel bool, fn func(t *testing.T, s *server)) {
	for _, s := range servers {
		s := s
		t.Run(s.name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			fn(t, s)
		})
	}
}

// throwawayDatabase creates a database next to the one in pgURL (psql, as Go's standard library
// has no Postgres driver) and answers its URL and how to drop it.
func throwawayDatabase(pgURL string) (string, func(), error) {
	name := fmt.Sprintf("airmy_sdk_go_%d_%d", os.Getpid(), rand.New(rand.NewSource(time.Now().UnixNano())).Intn(1e9))
	psql := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "psql", pgURL, "-v", "ON_ERROR_STOP=1", "-qc", sql).CombinedOutput()
		if err != nil {
			return fmt.Errorf("psql %q: %v: %s", sql, err, out)
		}
		return nil
	}
	if err := psql("CREATE DATABASE " + name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() { _ = psql("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") }, nil
}

func (s *server) env() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AIRMY_PORT=0",
		"AIRMY_DATA_DIR=" + s.dataDir, "AIRMY_LOG_LEVEL=warn", "AIRMY_ALLOW_PRIVATE_WEBHOOKS=1"}
	if s.dbURL != "" {
		env = append(env, "AIRMY_DATABASE_URL="+s.dbURL)
	}
	return env
}

func (s *server) start() error {
	var err error
	if s.dataDir, err = os.MkdirTemp("", "airmy-go-test-"+s.name+"-"); err != nil {
		return err
	}
	s.cmd = exec.Command(node, filepath.Join(repo, "src", "main.ts"), "serve")
	s.cmd.Env = s.env()
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		return err
	}
	if err := s.awaitListening(out, 120*time.Second); err != nil {
		return err
	}
	var slowErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.slowKey, slowErr = s.orgWithKey("sdk-go-limited", "--rpm", "60", "--burst", "2")
	}()
	s.key, err = s.orgWithKey("sdk-go", "--rpm", "60000", "--burst", "10000")
	<-done
	if err != nil {
		return err
	}
	return slowErr
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
	if s.dataDir != "" {
		os.RemoveAll(s.dataDir)
	}
}

var (
	listeningRe = regexp.MustCompile(`listening: (https://([^/\s]+)/v2)`)
	caRe        = regexp.MustCompile(`Trust this CA:\s+(\S+)`)
)

// awaitListening reads the server's output until it prints its URL and CA file; the output keeps
// being read afterwards (shown with -v) so that the server never blocks on a full pipe.
func (s *server) awaitListening(out io.Reader, timeout time.Duration) error {
	ready, ended := make(chan struct{}), make(chan struct{})
	var seen strings.Builder
	var mu sync.Mutex
	go func() {
		defer close(ended) // the server's output closed: it exited
		sc := bufio.NewScanner(out)
		var baseURL, addr, ca string
		announced := false
		for sc.Scan() {
			line := sc.Text()
			if announced {
				if testing.Verbose() {
					fmt.Fprintf(os.Stderr, "server %s: %s\n", s.name, line)
				}
				continue
			}
			mu.Lock()
			seen.WriteString(line + "\n")
			mu.Unlock()
			if m := listeningRe.FindStringSubmatch(line); m != nil {
				baseURL, addr = m[1], m[2]
			}
			if m := caRe.FindStringSubmatch(line); m != nil {
				ca = m[1]
			}
			if baseURL != "" && ca != "" {
				s.baseURL, s.addr, s.caFile = baseURL, addr, ca
				announced = true
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
		return nil
	case <-ended:
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("the %s server exited before listening:\n%s", s.name, seen.String())
	case <-time.After(timeout):
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("the %s server did not print its URL within %s:\n%s", s.name, timeout, seen.String())
	}
}

// orgWithKey runs `airmy orgs create` and `airmy keys create` and answers the key's secret.
func (s *server) orgWithKey(name string, limits ...string) (string, error) {
	org, err := s.cli(append([]string{"orgs", "create", "--name", name, "--plan", "enterprise"}, limits...)...)
	if err != nil {
		return "", err
	}
	return s.cli("keys", "create", "--org", org)
}

func (s *server) cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(repo, "src", "main.ts")}, args...)...)
	cmd.Env = s.env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("airmy %s (%s): %v\n%s", strings.Join(args, " "), s.name, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
