package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/leadlex/api-gateway/gateway/delivery/sender"
)

// The delivery scenarios run the gateway as production does: `gateway
// serve` takes the publishes, one `gateway worker` process delivers, both
// the real binary, built once per run.
const (
	// modulePath is the gateway binary's package.
	modulePath = "github.com/leadlex/api-gateway"
	// startTimeout bounds a process's start (serve answering /healthz).
	startTimeout = 30 * time.Second
	// stopTimeout bounds a process's graceful stop after SIGTERM; then it
	// is killed.
	stopTimeout = 45 * time.Second
	// maxLogSamples is how many warning lines of a process are kept.
	maxLogSamples = 5
)

// buildGateway compiles the gateway binary into dir (no race detector: the
// bench measures what production runs) and returns its path.
func buildGateway(ctx context.Context, dir string, stderr io.Writer) (string, error) {
	bin := filepath.Join(dir, "gateway")
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.CommandContext(ctx, goCmd, "build", "-o", bin, modulePath)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build the gateway binary: %w", err)
	}
	return bin, nil
}

// process is one running gateway process (serve or worker) of a scenario.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	logs *logScan
	// cpu is the process's user and system time, known once it has exited.
	cpu time.Duration
	err error // what Wait returned, once done is closed
}

// startProcess runs `bin command` with exactly env (nothing is inherited
// from the bench's environment but PATH and HOME), its output scanned by a
// logScan.
func startProcess(bin, command string, env map[string]string) (*process, error) {
	p := &process{name: command, done: make(chan struct{}), logs: &logScan{}}
	p.cmd = exec.Command(bin, command)
	p.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	dieWithBench(p.cmd)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start gateway %s: %w", command, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		if st := p.cmd.ProcessState; st != nil {
			p.cpu = st.UserTime() + st.SystemTime()
		}
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits for a graceful stop (attempts in flight finish
// first) and kills the process after stopTimeout. It returns an error when
// the process had to be killed or exited with a failure.
func (p *process) stop() error {
	if p.exited() {
		return p.exitErr("exited early")
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr("stopped")
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("gateway %s did not stop within %s of SIGTERM and was killed", p.name, stopTimeout)
	}
}

func (p *process) exitErr(what string) error {
	if p.err == nil {
		return nil
	}
	return fmt.Errorf("gateway %s %s: %v; last output: %s", p.name, what, p.err, p.logs.tail())
}

// waitHealthy polls serve's /healthz until it answers 200.
func waitHealthy(ctx context.Context, p *process, base string) error {
	client := &http.Client{Transport: newTransport(1), Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(startTimeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("interrupted: %w", ctx.Err())
		case p.exited():
			return fmt.Errorf("gateway serve exited at start: %v; output: %s", p.err, p.logs.tail())
		case time.Now().After(deadline):
			return fmt.Errorf("gateway serve did not answer /healthz within %s; output: %s", startTimeout, p.logs.tail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runCLI runs a one-shot gateway command and returns its standard output.
func runCLI(ctx context.Context, bin string, env map[string]string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gateway %s: %w: %s", strings.Join(args[:min(len(args), 2)], " "), err, truncate(errOut.String(), 500))
	}
	return out.Bytes(), nil
}

// logScan reads a process's JSON log lines as they come: it counts the
// records at WARN and ERROR, keeps the first few, notes the delivery
// guard's refusals, and keeps the last lines for error messages. It holds
// no more than that, however long the run.
type logScan struct {
	mu       sync.Mutex
	partial  []byte
	warnings int64
	guard    int64
	samples  []string
	last     []string
}

// Write implements io.Writer.
func (l *logScan) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.line(string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	if len(l.partial) > 64<<10 { // a line that never ends: judge what came
		l.line(string(l.partial))
		l.partial = nil
	}
	return len(p), nil
}

func (l *logScan) line(s string) {
	if strings.Contains(s, sender.GuardMessage) {
		l.guard++
	}
	if strings.Contains(s, `"level":"WARN`) || strings.Contains(s, `"level":"ERROR`) {
		l.warnings++
		if len(l.samples) < maxLogSamples {
			l.samples = append(l.samples, truncate(s, 300))
		}
	}
	l.last = append(l.last, truncate(s, 300))
	if len(l.last) > 5 {
		l.last = l.last[1:]
	}
}

// counts returns the warning and guard counts and the kept warnings.
func (l *logScan) counts() (warnings, guard int64, samples []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.warnings, l.guard, append([]string(nil), l.samples...)
}

// tail returns the last lines the process wrote.
func (l *logScan) tail() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.last, " | ")
}
