package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// instruction is one line of the Dockerfile: its keyword (upper case),
// flags and arguments.
type instruction struct {
	cmd   string
	flags []string
	args  []string
	line  int
}

// dockerStage is one FROM and what follows it.
type dockerStage struct {
	image, name string
	body        []instruction
}

func (s dockerStage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// readDockerfile parses the repository's Dockerfile with BuildKit's own
// parser into its stages.
func readDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	var stages []dockerStage
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToUpper(n.Value), flags: n.Flags, line: n.StartLine}
		for x := n.Next; x != nil; x = x.Next {
			in.args = append(in.args, x.Value)
		}
		switch {
		case in.cmd == "FROM":
			s := dockerStage{image: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "AS") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
		case len(stages) == 0:
			if in.cmd != "ARG" {
				t.Fatalf("Dockerfile line %d: %s before FROM", in.line, in.cmd)
			}
		default:
			stages[len(stages)-1].body = append(stages[len(stages)-1].body, in)
		}
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stages, want a build stage and a final one", len(stages))
	}
	return stages
}

// dockerBuildCommand is the build stage's `go build` line, with the
// build arguments it names.
func dockerBuildCommand(t *testing.T, stages []dockerStage) (string, map[string]string) {
	t.Helper()
	for _, s := range stages[:len(stages)-1] {
		args := map[string]string{}
		for _, in := range s.body {
			switch in.cmd {
			case "ARG":
				k, v, _ := strings.Cut(in.args[0], "=")
				args[k] = v
			case "RUN":
				if strings.Contains(in.args[0], "go build") {
					return in.args[0], args
				}
			}
		}
	}
	t.Fatal("no RUN with go build in the Dockerfile's build stages")
	return "", nil
}

var pinnedImageRE = regexp.MustCompile(`^[a-z0-9./_-]+:[0-9]+\.[0-9]+\.[0-9]+[a-z0-9._-]*(@sha256:[0-9a-f]{64})?$|^[a-z0-9./_-]+(:[a-z0-9._-]+)?@sha256:[0-9a-f]{64}$`)

// The Dockerfile keeps the rules docs/operations.md gives for the image.
func TestDockerfileRules(t *testing.T) {
	stages := readDockerfile(t)
	names := map[string]bool{}
	for _, s := range stages {
		// Every base is pinned: an exact version or a digest (scratch
		// is empty, nothing to pin), or an earlier stage.
		if s.image != "scratch" && !names[s.image] && !pinnedImageRE.MatchString(s.image) {
			t.Errorf("FROM %s: not pinned to an exact version or digest", s.image)
		}
		if s.name != "" {
			names[s.name] = true
		}
		for _, in := range s.all("ADD") {
			for _, a := range in.args {
				if strings.Contains(a, "://") || strings.HasPrefix(a, "git@") {
					t.Errorf("line %d: ADD of a URL (%s): download in a RUN with a checksum, or COPY", in.line, a)
				}
			}
		}
	}

	final := stages[len(stages)-1]
	users := final.all("USER")
	if len(users) == 0 {
		t.Error("the final stage runs as root: no USER")
	} else if u := strings.Split(users[len(users)-1].args[0], ":")[0]; u == "0" || u == "root" || u == "" {
		t.Errorf("the final stage's USER is %q", users[len(users)-1].args[0])
	}
	entry := final.all("ENTRYPOINT")
	if len(entry) != 1 || len(entry[0].args) != 1 {
		t.Fatalf("the final stage needs one ENTRYPOINT naming the binary: %v", entry)
	}
	binary := entry[0].args[0]
	hc := final.all("HEALTHCHECK")
	if len(hc) != 1 {
		t.Fatalf("the final stage has %d HEALTHCHECKs, want 1", len(hc))
	}
	// Exec form: no shell in the image.
	if want := []string{"CMD", binary, "healthcheck"}; !slices.Equal(hc[0].args[:min(3, len(hc[0].args))], want) {
		t.Errorf("HEALTHCHECK %v, want %v (exec form, the binary's own probe)", hc[0].args, want)
	}
	// The port exposed is the one the server listens on.
	env := map[string]string{}
	for _, in := range final.all("ENV") {
		for i := 0; i+1 < len(in.args); i += 3 {
			env[in.args[i]] = in.args[i+1]
		}
	}
	_, port, err := net.SplitHostPort(env["HTTP_ADDR"])
	if err != nil {
		t.Fatalf("ENV HTTP_ADDR %q: %v", env["HTTP_ADDR"], err)
	}
	if ex := final.all("EXPOSE"); len(ex) != 1 || ex[0].args[0] != port {
		t.Errorf("EXPOSE %v, want %s (HTTP_ADDR)", ex, port)
	}
	// Outbound TLS (WeChat, SMS, push) needs CA certificates; time zones
	// are there for TZ (the binary embeds its own too).
	copied := ""
	for _, in := range final.all("COPY") {
		copied += " " + strings.Join(in.args, " ")
	}
	for _, want := range []string{"/etc/ssl/certs/ca-certificates.crt", "/usr/share/zoneinfo"} {
		if !strings.Contains(copied, want) {
			t.Errorf("the final stage does not copy %s", want)
		}
	}

	build, args := dockerBuildCommand(t, stages)
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=${VERSION}", "-X main.commit=${COMMIT}"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build command lacks %s: %s", want, build)
		}
	}
	for _, arg := range []string{"VERSION", "COMMIT"} {
		if _, ok := args[arg]; !ok {
			t.Errorf("the build stage declares no ARG %s", arg)
		}
	}
}

// The binary built with exactly the Dockerfile's command says its version,
// serves (here on SQLite), and probes itself the way the image's
// HEALTHCHECK and compose.yaml do.
func TestDockerfileBinary(t *testing.T) {
	stages := readDockerfile(t)
	build, args := dockerBuildCommand(t, stages)
	args["VERSION"], args["COMMIT"] = "9.8.7-test", "0123456789abcdef"
	var kv []string
	for k, v := range args {
		kv = append(kv, k+"="+v)
	}
	words, err := shell.NewLex('\\').ProcessWords(build, shell.EnvsFromSlice(kv))
	if err != nil {
		t.Fatalf("build command %q: %v", build, err)
	}
	// Leading NAME=value words are its environment; then go build.
	var cmdEnv []string
	for len(words) > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[0]) {
		cmdEnv, words = append(cmdEnv, words[0]), words[1:]
	}
	if len(words) < 2 || words[0] != "go" || words[1] != "build" {
		t.Fatalf("build command %q is not go build", build)
	}
	bin := filepath.Join(t.TempDir(), "ownerhub")
	o := slices.Index(words, "-o")
	if o < 0 || o+1 >= len(words) {
		t.Fatalf("build command %q names no -o", build)
	}
	words[o+1] = bin
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", words[1:]...)
	cmd.Dir = ".." // the build context: the repository
	cmd.Env = append(os.Environ(), cmdEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, out)
	}
	if fi, err := os.Stat(bin); err == nil {
		t.Logf("binary: %.1f MB", float64(fi.Size())/(1<<20))
	}

	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("--version: %v", err)
	}
	if want := fmt.Sprintf("ownerhub 9.8.7-test (commit 0123456789abcdef, %s)\n", runtime.Version()); string(out) != want {
		t.Errorf("--version printed %q, want %q", out, want)
	}

	// The image's environment, on a free port and a fresh data directory.
	env := map[string]string{}
	for _, in := range stages[len(stages)-1].all("ENV") {
		for i := 0; i+1 < len(in.args); i += 3 {
			env[in.args[i]] = in.args[i+1]
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	env["HTTP_ADDR"], env["DATA_DIR"], env["JWT_SECRET"] = addr, t.TempDir(), testSecret
	env["DRAIN_PERIOD"] = "0s"
	procEnv := []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		procEnv = append(procEnv, k+"="+v)
	}
	probe := func(args ...string) (string, error) {
		c := exec.Command(bin, append([]string{"healthcheck"}, args...)...)
		c.Env = procEnv
		out, err := c.CombinedOutput()
		return string(out), err
	}
	// Nothing listens yet: the probe fails.
	if out, err := probe(); err == nil {
		t.Fatalf("healthcheck with no server passed: %s", out)
	}

	var logs bytes.Buffer
	srv := exec.Command(bin)
	srv.Env = procEnv
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		<-exited
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not become ready: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, args := range [][]string{nil, {"-ready"}} {
		if out, err := probe(args...); err != nil {
			t.Errorf("healthcheck %v: %v: %s", args, err, out)
		}
	}
	plain := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	resp, err := plain.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	_, _ = body.ReadFrom(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`ownerhub_build_info{commit="0123456789abcdef",goversion=%q,version="9.8.7-test"} 1`, runtime.Version()); !strings.Contains(body.String(), want) {
		t.Errorf("/metrics lacks %s", want)
	}

	// Draining: /healthz still answers, /readyz does not, and the
	// readiness probe says so.
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("the server exited with %v after SIGTERM:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not stop after SIGTERM")
	}
	if out, err := probe(); err == nil {
		t.Errorf("healthcheck passed with the server stopped: %s", out)
	}
}

// compose.yaml starts the image with PostgreSQL 15, each waiting for the
// other's health as docs/operations.md says, and configures only what the
// README documents.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Image       string                                `yaml:"image"`
		Build       struct{ Args map[string]any }         `yaml:"build"`
		DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
		Environment map[string]any                        `yaml:"environment"`
		Healthcheck struct{ Test []string }               `yaml:"healthcheck"`
	}
	var c struct {
		Services map[string]service `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	pg, app := c.Services["postgres"], c.Services["ownerhub"]
	if !regexp.MustCompile(`^postgres:15(\.[0-9]+)?(-[a-z0-9]+)?(@sha256:[0-9a-f]{64})?$`).MatchString(pg.Image) {
		t.Errorf("postgres image %q, want PostgreSQL 15", pg.Image)
	}
	if !slices.Contains(pg.Healthcheck.Test, "pg_isready") {
		t.Errorf("postgres health check %v does not run pg_isready", pg.Healthcheck.Test)
	}
	if app.DependsOn["postgres"].Condition != "service_healthy" {
		t.Errorf("ownerhub depends on postgres %+v, want condition service_healthy", app.DependsOn)
	}
	stages := readDockerfile(t)
	binary := stages[len(stages)-1].all("ENTRYPOINT")[0].args[0]
	if want := []string{"CMD", binary, "healthcheck", "-ready"}; !slices.Equal(app.Healthcheck.Test, want) {
		t.Errorf("ownerhub health check %v, want %v (/healthz and /readyz)", app.Healthcheck.Test, want)
	}
	_, dockerArgs := dockerBuildCommand(t, stages)
	for arg := range app.Build.Args {
		if _, ok := dockerArgs[arg]; !ok {
			t.Errorf("compose passes build argument %s, which the Dockerfile does not take", arg)
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Environment) == 0 {
		t.Error("ownerhub has no environment")
	}
	for k := range app.Environment {
		if !regexp.MustCompile("(?m)^\\| [^|]*`" + regexp.QuoteMeta(k) + "`").Match(readme) {
			t.Errorf("compose sets %s, which the README's configuration table does not describe", k)
		}
	}
	if !strings.Contains(string(readme), "docker compose up") {
		t.Error("the README does not say how to start OwnerHub with compose")
	}
}
