package airmy_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var snippetRe = regexp.MustCompile("(?s)<!-- sdk-snippet:go -->\\s*```go\\n(.*?)```\\s*<!-- /sdk-snippet -->")

// The Go snippet of README.md, run as written: a main package in a module of its own that
// requires the SDK (replaced by this directory), from a directory with the server's CA at
// .airmy/tls/ca.pem, with AIRMY_API_KEY and AIRMY_BASE_URL set.
func TestReadmeSnippet(t *testing.T) {
	forEachServer(t, false, func(t *testing.T, s *server) {
		readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
		if err != nil {
			t.Fatal(err)
		}
		m := snippetRe.FindSubmatch(readme)
		if m == nil {
			t.Fatal("README.md has no <!-- sdk-snippet:go --> block with a ```go fence")
		}
		sdk, err := filepath.Abs(".")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		gomod := "module snippet\n\ngo 1.19\n\nrequire github.com/airmy/airmy-go v0.0.0\n\nreplace github.com/airmy/airmy-go => " + sdk + "\n"
		ca, err := os.ReadFile(s.caFile)
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644))
		must(t, os.WriteFile(filepath.Join(dir, "main.go"), m[1], 0o644))
		must(t, os.MkdirAll(filepath.Join(dir, ".airmy", "tls"), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, ".airmy", "tls", "ca.pem"), ca, 0o644))

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "run", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "AIRMY_API_KEY="+s.key, "AIRMY_BASE_URL="+s.baseURL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go run of the README snippet: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "completed") {
			t.Fatalf("the snippet printed no completed run:\n%s", out)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
