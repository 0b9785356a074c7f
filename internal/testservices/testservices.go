// Package testservices starts throwaway PostgreSQL and Redis servers that
// belong to one test: their own data directory under t.TempDir() and their
// own loopback port. A test that restarts, kills or flushes a service does
// it to these, never to the shared servers that every other test (and every
// other helper on the machine) uses. t.Cleanup stops them.
//
// It imports nothing of the gateway, so that a test helper never depends on
// the code it helps to test.
package testservices

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leadlex/api-gateway/internal/testproc"
)

// startTimeout bounds the wait for a server to accept connections; both
// start in well under a second on a quiet machine.
const startTimeout = 30 * time.Second

// commandTimeout bounds one control command (initdb, pg_ctl, redis-cli).
const commandTimeout = 60 * time.Second

// Postgres is a throwaway PostgreSQL server on 127.0.0.1.
type Postgres struct {
	t    testing.TB
	bin  string
	data string
	port int
	// runAs is the prefix that runs a server command as the postgres
	// account when the test runs as root (PostgreSQL refuses root).
	runAs []string
}

// StartPostgres initialises a data directory under tb.TempDir() and starts
// a server on a free loopback port with trust authentication for user
// postgres. The binaries are taken from /usr/lib/postgresql/<newest>/bin, as
// .ci/services.sh does; missing binaries fail the test, never skip it.
// Cleanup stops the server (immediate mode: nothing in it is kept).
func StartPostgres(tb testing.TB) *Postgres {
	tb.Helper()
	bin, err := postgresBin()
	if err != nil {
		tb.Fatalf("testservices: %v", err)
	}
	dir := tb.TempDir()
	p := &Postgres{t: tb, bin: bin, data: filepath.Join(dir, "pg"), port: testproc.FreePort(tb)}
	if os.Getuid() == 0 {
		// The postgres account must reach the data directory: open the
		// test's own temporary directories to traversal and hand it the
		// data directory.
		for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				tb.Fatalf("testservices: %v", err)
			}
		}
		if err := os.Mkdir(p.data, 0o700); err != nil {
			tb.Fatalf("testservices: %v", err)
		}
		if out, err := run("chown", "postgres", p.data); err != nil {
			tb.Fatalf("testservices: chown the data directory to postgres: %v: %s", err, out)
		}
		p.runAs = []string{"runuser", "-u", "postgres", "--"}
	}
	if out, err := p.run("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "--no-sync"); err != nil {
		tb.Fatalf("testservices: initdb: %v: %s", err, out)
	}
	// The socket goes in the data directory, so that nothing outside the
	// test's directory is touched; fsync is off, since nothing here
	// outlives the test.
	opts := "-p " + strconv.Itoa(p.port) + " -k " + p.data + " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
	// The log goes in the data directory too: the postgres account may
	// write only there.
	logFile := filepath.Join(p.data, "server.log")
	if out, err := p.run("pg_ctl", "-D", p.data, "-l", logFile, "-w", "-t", "30", "-o", opts, "start"); err != nil {
		tb.Fatalf("testservices: pg_ctl start: %v: %s\n%s", err, out, readFile(logFile))
	}
	tb.Cleanup(func() {
		if out, err := p.run("pg_ctl", "-D", p.data, "-m", "immediate", "-w", "stop"); err != nil && p.running() {
			tb.Errorf("testservices: pg_ctl stop: %v: %s", err, out)
		}
	})
	return p
}

// URL is a connection string to the server's postgres database.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Port is the server's TCP port on 127.0.0.1.
func (p *Postgres) Port() int { return p.port }

// Restart restarts the server with pg_ctl restart -m fast: every session is
// disconnected, and the server accepts connections again when Restart
// returns. The test fails if it does not come back.
func (p *Postgres) Restart() {
	p.t.Helper()
	if out, err := p.run("pg_ctl", "-D", p.data, "-m", "fast", "-w", "-t", "30", "restart"); err != nil {
		p.t.Fatalf("testservices: pg_ctl restart: %v: %s", err, out)
	}
}

// running reports whether pg_ctl sees the server.
func (p *Postgres) running() bool {
	_, err := p.run("pg_ctl", "-D", p.data, "status")
	return err == nil
}

func (p *Postgres) run(tool string, args ...string) (string, error) {
	argv := append(append(append([]string{}, p.runAs...), filepath.Join(p.bin, tool)), args...)
	return run(argv[0], argv[1:]...)
}

// postgresBin is the newest /usr/lib/postgresql/*/bin holding initdb.
func postgresBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) < version(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", fmt.Errorf("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install the postgresql package; .ci/services.sh does)")
}

// version is the major version in /usr/lib/postgresql/<version>/bin.
func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Redis is a throwaway redis-server on 127.0.0.1, a child process of the
// test.
type Redis struct {
	t    testing.TB
	port int
	cmd  *exec.Cmd
	done chan struct{}
	out  testproc.Output
}

// StartRedis starts redis-server on a free loopback port with its directory
// under tb.TempDir(), no persistence, until the test ends. A missing
// redis-server fails the test, never skips it.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Fatalf("testservices: redis-server not found (install the redis-server package; .ci/services.sh does): %v", err)
	}
	r := &Redis{t: tb, port: testproc.FreePort(tb), done: make(chan struct{})}
	r.cmd = exec.Command(path, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", tb.TempDir(), "--daemonize", "no")
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("testservices: start redis-server: %v", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	tb.Cleanup(r.stop)
	if err := waitTCP(r.port, r.done); err != nil {
		tb.Fatalf("testservices: redis-server: %v\n%s", err, r.logs())
	}
	return r
}

// URL is the redis:// URL of database 0.
func (r *Redis) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// Port is the server's TCP port on 127.0.0.1.
func (r *Redis) Port() int { return r.port }

// FlushDB empties database 0 of this throwaway server, as an operator's
// FLUSHDB of the gateway's Redis would.
func (r *Redis) FlushDB() {
	r.t.Helper()
	out, err := run("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(r.port), "-n", "0", "FLUSHDB")
	if err != nil || strings.TrimSpace(out) != "OK" {
		r.t.Fatalf("testservices: FLUSHDB: %v: %s", err, out)
	}
}

// stop ends the server process this package started (by its own pid).
func (r *Redis) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.done
}

func (r *Redis) logs() string {
	return r.out.String()
}

// waitTCP waits until something accepts connections on the loopback port,
// or the process ends (done closes), or startTimeout passes.
func waitTCP(port int, done <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("exited before listening on %s", addr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", addr, startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// run runs a command with commandTimeout and returns its combined output.
// The output goes to a file rather than a pipe: pg_ctl start leaves the
// server running, and a server that inherited a pipe would keep Wait from
// returning until it exits.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	f, err := os.CreateTemp("", "testservices-*.out")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	err = cmd.Run()
	out, _ := os.ReadFile(f.Name())
	return string(out), err
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
