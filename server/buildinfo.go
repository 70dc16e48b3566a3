package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// version and commit are set when the binary is built for release
// (-ldflags "-X main.version=... -X main.commit=...", see the Dockerfile);
// without them they come from the module and VCS information Go records.
var (
	version string
	commit  string
)

// buildInfo is what the binary says about itself: --version and the
// ownerhub_build_info series.
type buildInfo struct {
	Version, Commit, GoVersion string
}

func currentBuild() buildInfo {
	return readBuild(version, commit, debug.ReadBuildInfo)
}

// readBuild prefers the values linked in; then the module's version and
// the VCS revision go build stamped (with "-dirty" for a modified tree);
// then "devel" and "unknown".
func readBuild(v, c string, read func() (*debug.BuildInfo, bool)) buildInfo {
	b := buildInfo{Version: v, Commit: c, GoVersion: runtime.Version()}
	if bi, ok := read(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		if b.Commit == "" {
			var rev string
			var dirty bool
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if rev != "" && dirty {
				rev += "-dirty"
			}
			b.Commit = rev
		}
		if bi.GoVersion != "" {
			b.GoVersion = bi.GoVersion
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

func (b buildInfo) String() string {
	return fmt.Sprintf("ownerhub %s (commit %s, %s)", b.Version, b.Commit, b.GoVersion)
}

// healthTimeout bounds one probe of the healthcheck subcommand.
const healthTimeout = 3 * time.Second

// healthcheck probes the server running beside it on HTTP_ADDR: /healthz,
// and with -ready /readyz too. It is the image's HEALTHCHECK, which has no
// shell or curl to run (docs/operations.md). A nil error means every probe
// answered 200.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ready := fs.Bool("ready", false, "also ask /readyz")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errors.New("usage: server healthcheck [-ready]")
	}
	addr := strings.TrimSpace(getenv("HTTP_ADDR"))
	if addr == "" {
		addr = defaultAddr
	}
	base, err := probeBase(addr)
	if err != nil {
		return err
	}
	paths := []string{"/healthz"}
	if *ready {
		paths = append(paths, "/readyz")
	}
	client := &http.Client{Timeout: healthTimeout}
	for _, p := range paths {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+p, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %d %s", p, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		// The report is a courtesy; the exit status is the answer.
		_, _ = fmt.Fprintf(stdout, "%s: %s\n", p, strings.TrimSpace(string(body)))
	}
	return nil
}

// probeBase is the URL a probe inside the container reaches the server at:
// a listener on every interface (":8080", "0.0.0.0:8080") is asked on the
// loopback interface.
func probeBase(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HTTP_ADDR %s: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return "http://" + net.JoinHostPort(host, port), nil
}
