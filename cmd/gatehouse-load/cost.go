package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/argon2"

	gatehouseargon2 "github.com/gatehouse-id/gatehouse/internal/argon2"
)

// clockTicks is the unit of utime and stime in /proc/PID/stat
// (sysconf(_SC_CLK_TCK)); it is 100 on every Linux Go runs on, and reading
// it for real would need cgo.
const clockTicks = 100

// cpuTimes is the CPU time a process has used, in user mode and in the
// kernel on its behalf (page faults, system calls).
type cpuTimes struct {
	user, system time.Duration
}

// total is the process's whole CPU time.
func (c cpuTimes) total() time.Duration { return c.user + c.system }

// sub is the CPU time used between b and c.
func (c cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{user: c.user - b.user, system: c.system - b.system}
}

// procCPU is the CPU time a process has used: utime and stime from
// /proc/PID/stat.
func procCPU(pid int) (cpuTimes, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return cpuTimes{}, err
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from the text of
// /proc/PID/stat. The command name (field 2) is in parentheses and may
// itself hold spaces and parentheses, so the fields are counted from the
// last ')'.
func parseStatCPU(stat string) (cpuTimes, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return cpuTimes{}, errors.New("stat: no command name")
	}
	// After ") " come field 3 (state) onwards: utime is the 12th of them.
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return cpuTimes{}, fmt.Errorf("stat: %d fields after the command name", len(f))
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64)
	stime, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return cpuTimes{}, fmt.Errorf("stat: %w", err)
	}
	return cpuTimes{user: ticks(utime), system: ticks(stime)}, nil
}

func ticks(n uint64) time.Duration { return time.Duration(n) * time.Second / clockTicks }

// procPeakRSS is the process's peak resident set size in bytes: VmHWM from
// /proc/PID/status.
func procPeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKB(string(b), "VmHWM")
}

// parseStatusKB reads a "Name:   1234 kB" line of /proc/PID/status, in bytes.
func parseStatusKB(status, name string) (int64, error) {
	for line := range strings.Lines(status) {
		v, ok := strings.CutPrefix(line, name+":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("status: %s: %q", name, strings.TrimSpace(v))
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status: %s: %w", name, err)
		}
		return n << 10, nil
	}
	return 0, fmt.Errorf("status: no %s", name)
}

// argon2Params are the server's argon2id parameters, which the bare hash
// is measured at.
type argon2Params struct {
	memoryKiB, iterations uint32
	parallelism           uint8
}

// hashCost is what one bare argon2id hash cost in this process.
type hashCost struct {
	hashes, workers int
	cpu             cpuTimes      // per hash
	wall            time.Duration // per hash
}

// hasher makes one argon2id hash; a worker of measureHash gets its own.
type hasher func(p argon2Params, password, salt []byte)

// bareHash is the reference the sign-in's cost is measured against:
// golang.org/x/crypto/argon2's IDKey, which allocates its memory on each
// call, as a program hashing a password with Go's argon2 package does.
func bareHash(argon2Params) hasher {
	return func(p argon2Params, password, salt []byte) {
		argon2.IDKey(password, salt, p.iterations, p.memoryKiB, p.parallelism, 32)
	}
}

// keptMemoryHash is the server's own hash (internal/argon2): the same
// result, computed in a work area kept from one hash to the next. The
// area is made, and used once so that its pages are in memory, when the
// worker's hasher is, before the timing starts: as a server's hashing slot
// has been after its first sign-in.
func keptMemoryHash(p argon2Params) hasher {
	mem := gatehouseargon2.NewMemory(p.memoryKiB)
	mem.IDKey([]byte("warm-up"), []byte("warm-up salt"), p.iterations, p.memoryKiB, p.parallelism, 32)
	return func(p argon2Params, password, salt []byte) {
		mem.IDKey(password, salt, p.iterations, p.memoryKiB, p.parallelism, 32)
	}
}

// measureHash makes n argon2id hashes on workers goroutines (the server runs
// one hash per core at once), each worker with a hasher of newHasher's,
// and returns the CPU time and the wall time a hash, the CPU time from
// getrusage of this process (so the load must not be running).
func measureHash(p argon2Params, n, workers int, newHasher func(argon2Params) hasher) (hashCost, error) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	password := []byte("correct horse battery staple")
	hashers := make([]hasher, workers)
	for i := range hashers {
		hashers[i] = newHasher(p)
	}
	runtime.GC()
	before, err := selfCPU()
	if err != nil {
		return hashCost{}, err
	}
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	for _, hash := range hashers {
		wg.Go(func() {
			for range jobs {
				hash(p, password, salt)
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	after, err := selfCPU()
	if err != nil {
		return hashCost{}, err
	}
	used := after.sub(before)
	return hashCost{hashes: n, workers: workers, cpu: used.div(n), wall: wall * time.Duration(workers) / time.Duration(n)}, nil
}

// div is c shared among n.
func (c cpuTimes) div(n int) cpuTimes {
	return cpuTimes{user: c.user / time.Duration(n), system: c.system / time.Duration(n)}
}

// selfCPU is the user and system CPU time this process has used.
func selfCPU() (cpuTimes, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cpuTimes{}, fmt.Errorf("getrusage: %w", err)
	}
	return cpuTimes{user: time.Duration(ru.Utime.Nano()), system: time.Duration(ru.Stime.Nano())}, nil
}

// serverCost is the server's CPU over a run and its peak memory.
type serverCost struct {
	cpu     cpuTimes // utime and stime used during the run
	flows   int      // flows completed in the run
	peakRSS int64    // VmHWM after the run, bytes
}

// perFlow is the server's CPU time a completed flow.
func (s serverCost) perFlow() cpuTimes {
	if s.flows == 0 {
		return cpuTimes{}
	}
	return s.cpu.div(s.flows)
}

// ratio is the server's CPU a flow in units of one bare hash's CPU.
func (s serverCost) ratio(h hashCost) float64 {
	if h.cpu.total() <= 0 || s.flows == 0 {
		return 0
	}
	return float64(s.perFlow().total()) / float64(h.cpu.total())
}

// mean is the cost of a hash over two measurements of it.
func mean(a, b hashCost) hashCost {
	return hashCost{hashes: a.hashes + b.hashes, workers: a.workers,
		cpu: cpuTimes{user: (a.cpu.user + b.cpu.user) / 2, system: (a.cpu.system + b.cpu.system) / 2}, wall: (a.wall + b.wall) / 2}
}

// printCost prints the server's CPU a sign-in against one bare hash's,
// timed before (h1) and after (h2) the load, and against one hash of the
// server's own kernel (own), timed after it.
func printCost(s serverCost, h1, h2, own hashCost, p argon2Params) {
	h := mean(h1, h2)
	f := s.perFlow()
	fmt.Printf("  server CPU: %.2f s for %d sign-ins, %.1f ms a sign-in (user %.1f, system %.1f)\n",
		s.cpu.total().Seconds(), s.flows, ms(f.total()), ms(f.user), ms(f.system))
	fmt.Printf("  one argon2id hash (m=%d KiB, t=%d, p=%d; %d hashes on %d goroutines in this process, before and after the load): "+
		"%.1f ms CPU (user %.1f, system %.1f; %.1f before, %.1f after), %.1f ms wall\n",
		p.memoryKiB, p.iterations, p.parallelism, h.hashes, h.workers, ms(h.cpu.total()), ms(h.cpu.user), ms(h.cpu.system),
		ms(h1.cpu.total()), ms(h2.cpu.total()), ms(h.wall))
	fmt.Printf("  CPU a sign-in / CPU a hash: %.2f\n", s.ratio(h))
	fmt.Printf("  the server's own argon2id (internal/argon2, a kept work area; %d hashes after the load): "+
		"%.1f ms CPU (user %.1f, system %.1f); CPU a sign-in / CPU of that hash: %.2f\n",
		own.hashes, ms(own.cpu.total()), ms(own.cpu.user), ms(own.cpu.system), s.ratio(own))
	fmt.Printf("  server peak RSS (VmHWM): %.1f MB\n", float64(s.peakRSS)/1e6)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
