package airmy_test

// TestMain starts a real AIRMY server (`node src/main.ts serve`, TLS with its generated CA) in a
// temporary data directory, and creates its organizations and keys with the real CLI.

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var srv struct {
	repo    string
	node    string
	dataDir string
	baseURL string // https://127.0.0.1:PORT/v2
	addr    string // 127.0.0.1:PORT
	caFile  string
	key     string // an all-scopes key of an enterprise organization with a high limit
	slowKey string // a key of an organization limited to 60 requests/min, burst 2
}

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := runWithServer(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "airmy-go tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func runWithServer(m *testing.M) (int, error) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		return 0, err
	}
	srv.repo = repo
	srv.node = filepath.Join(repo, "node_modules", ".bin", "node")
	if _, err := os.Stat(srv.node); err != nil {
		return 0, fmt.Errorf("%s is missing: run npm ci at the repository root first", srv.node)
	}
	if srv.dataDir, err = os.MkdirTemp("", "airmy-go-test-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(srv.dataDir)

	cmd := exec.Command(srv.node, filepath.Join(repo, "src", "main.ts"), "serve")
	cmd.Env = serverEnv()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	if err := awaitListening(out, 90*time.Second); err != nil {
		return 0, err
	}

	// Both organizations at once: the CLI takes seconds to start on a busy machine.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		srv.key, errs[0] = orgWithKey("sdk-go", "--rpm", "60000", "--burst", "10000")
	}()
	go func() {
		defer wg.Done()
		srv.slowKey, errs[1] = orgWithKey("sdk-go-limited", "--rpm", "60", "--burst", "2")
	}()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}

func serverEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AIRMY_PORT=0",
		"AIRMY_DATA_DIR=" + srv.dataDir, "AIRMY_LOG_LEVEL=warn"}
}

var (
	listeningRe = regexp.MustCompile(`listening: (https://([^/\s]+)/v2)`)
	caRe        = regexp.MustCompile(`Trust this CA:\s+(\S+)`)
)

// awaitListening reads the server's output until it prints its URL and CA file; the rest of the
// output keeps being read (and shown when it is not a known line) so the server never blocks.
func awaitListening(out io.Reader, timeout time.Duration) error {
	ready := make(chan struct{})
	var seen strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if srv.baseURL == "" || srv.caFile == "" {
				seen.WriteString(line + "\n")
				if m := listeningRe.FindStringSubmatch(line); m != nil {
					srv.baseURL, srv.addr = m[1], m[2]
				}
				if m := caRe.FindStringSubmatch(line); m != nil {
					srv.caFile = m[1]
				}
				if srv.baseURL != "" && srv.caFile != "" {
					close(ready)
				}
			} else if testing.Verbose() {
				fmt.Fprintln(os.Stderr, "server:", line)
			}
		}
	}()
	select {
	case <-ready:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("the server did not print its URL within %s:\n%s", timeout, seen.String())
	}
}

// orgWithKey runs `airmy orgs create` and `airmy keys create` and answers the key's secret.
func orgWithKey(name string, limits ...string) (string, error) {
	org, err := cli(append([]string{"orgs", "create", "--name", name, "--plan", "enterprise"}, limits...)...)
	if err != nil {
		return "", err
	}
	return cli("keys", "create", "--org", org)
}

func cli(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, srv.node, append([]string{filepath.Join(srv.repo, "src", "main.ts")}, args...)...)
	cmd.Env = serverEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("airmy %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
