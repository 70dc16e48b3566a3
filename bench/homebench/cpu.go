package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is the CPU time used so far by each side of a run, read from
// Linux's /proc: the server process, the database's processes (every
// process named postgres; nothing on SQLite, which runs inside the server
// or this tool), this tool, and the whole machine (every CPU's busy time,
// the kernel's included). Elsewhere than Linux every figure is 0.
type cpuSample struct {
	server, db, tool, machine time.Duration
}

// clockTick is the unit of /proc's CPU times (USER_HZ, 100 on Linux on
// every architecture Go supports).
const clockTick = 10 * time.Millisecond

func (b *bench) cpu() cpuSample {
	s := cpuSample{machine: machineBusy(), tool: selfCPU()}
	if b.serverPID != 0 {
		s.server = processCPU(strconv.Itoa(b.serverPID))
	}
	if b.postgres {
		dirs, _ := filepath.Glob("/proc/[0-9]*")
		for _, d := range dirs {
			if comm, err := os.ReadFile(d + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
				s.db += processCPU(filepath.Base(d))
			}
		}
	}
	return s
}

// perRequest is the CPU time each side used per request between a and b.
func perRequest(a, b cpuSample, n int) cpuSample {
	if n == 0 {
		return cpuSample{}
	}
	per := func(x, y time.Duration) time.Duration { return (y - x) / time.Duration(n) }
	return cpuSample{server: per(a.server, b.server), db: per(a.db, b.db), tool: per(a.tool, b.tool), machine: per(a.machine, b.machine)}
}

// processCPU is the user and system time of process pid (fields 14 and 15
// of /proc/<pid>/stat, after the command name in parentheses).
func processCPU(pid string) time.Duration {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(f[11], 10, 64)
	sys, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(user+sys) * clockTick
}

// machineBusy is the time all CPUs spent working (the first line of
// /proc/stat: user, nice, system, idle, iowait, irq, softirq; not idle,
// iowait, nor steal, the time a virtual machine's host kept for others).
func machineBusy() time.Duration {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:min(len(f), 8)] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return time.Duration(busy) * clockTick
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
