package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name, stat string
		want       cpuTimes
		bad        bool
	}{
		{name: "utime and stime are fields 14 and 15, in clock ticks",
			stat: "4242 (gatehouse) S 1 4242 4242 0 -1 4194560 9213 0 0 0 1234 56 0 0 20 0 9 0 1234567 1500000000 40000 18446744073709551615 1 1 0 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
			want: cpuTimes{user: 12*time.Second + 340*time.Millisecond, system: 560 * time.Millisecond}},
		{name: "a command name with spaces and parentheses does not shift the fields",
			stat: "7 (a) b (c) R 1 7 7 0 -1 0 0 0 0 0 300 200 0 0 20 0 1 0 1 1 1\n",
			want: cpuTimes{user: 3 * time.Second, system: 2 * time.Second}},
		{name: "no command name", stat: "7 a R 1", bad: true},
		{name: "too few fields", stat: "7 (a) R 1 7 7 0 -1 0 0 0 0 0 300", bad: true},
		{name: "not a number", stat: "7 (a) R 1 7 7 0 -1 0 0 0 0 0 x 200 0", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU(tc.stat)
			if tc.bad {
				if err == nil {
					t.Fatalf("parsed %q as %+v, want an error", tc.stat, got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tgatehouse\nVmPeak:\t 1900000 kB\nVmHWM:\t  183296 kB\nVmRSS:\t   40960 kB\n"
	if got, err := parseStatusKB(status, "VmHWM"); err != nil || got != 183296<<10 {
		t.Errorf("VmHWM: got %d, %v; want %d", got, err, 183296<<10)
	}
	if got, err := parseStatusKB(status, "VmRSS"); err != nil || got != 40960<<10 {
		t.Errorf("VmRSS: got %d, %v", got, err)
	}
	if _, err := parseStatusKB(status, "VmSwap"); err == nil {
		t.Error("a missing line is an error")
	}
	if _, err := parseStatusKB("VmHWM:\t12 MB\n", "VmHWM"); err == nil {
		t.Error("a unit other than kB is an error")
	}
}

func TestThisProcessReadsItsOwnProc(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Error(err)
	}
	if peak, err := procPeakRSS(os.Getpid()); err != nil || peak <= 0 {
		t.Errorf("peak RSS %d, %v", peak, err)
	}
}

func TestRatio(t *testing.T) {
	s := serverCost{cpu: cpuTimes{user: 9 * time.Second, system: 3 * time.Second}, flows: 300}
	if got := s.perFlow(); got != (cpuTimes{user: 30 * time.Millisecond, system: 10 * time.Millisecond}) {
		t.Errorf("CPU a sign-in: %+v, want 30ms user and 10ms system", got)
	}
	if got := s.ratio(hashCost{cpu: cpuTimes{user: 20 * time.Millisecond, system: 5 * time.Millisecond}}); got != 1.6 {
		t.Errorf("ratio: %v, want 1.6", got)
	}
	if got := (serverCost{cpu: cpuTimes{user: time.Second}}).ratio(hashCost{cpu: cpuTimes{user: time.Millisecond}}); got != 0 {
		t.Errorf("no sign-ins completed: ratio %v, want 0", got)
	}
	if got := s.ratio(mean(hashCost{hashes: 40, cpu: cpuTimes{user: 20 * time.Millisecond}},
		hashCost{hashes: 40, cpu: cpuTimes{user: 24 * time.Millisecond, system: 6 * time.Millisecond}})); got != 1.6 {
		t.Errorf("ratio to the mean of the hash before and after: %v, want 1.6", got)
	}
	if got := s.ratio(hashCost{}); got != 0 {
		t.Errorf("no hash measured: ratio %v, want 0", got)
	}
}

func TestMeasureHash(t *testing.T) {
	for name, newHasher := range map[string]func(argon2Params) hasher{"bare": bareHash, "kept memory": keptMemoryHash} {
		h, err := measureHash(argon2Params{memoryKiB: 64, iterations: 1, parallelism: 1}, 4, 2, newHasher)
		if err != nil {
			t.Fatal(err)
		}
		if h.hashes != 4 || h.workers != 2 || h.wall <= 0 {
			t.Errorf("%s: got %+v", name, h)
		}
	}
}
