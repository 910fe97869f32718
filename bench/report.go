package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything a run measured.
type report struct {
	Machine    machine        `json:"machine"`
	Setup      []string       `json:"setup"` // what ran where, one line each
	Conns      int            `json:"connections"`
	Duration   float64        `json:"duration_seconds"`
	Warmup     float64        `json:"warmup_seconds"`
	Crypto     *cryptoCeiling `json:"es384,omitempty"`
	Rows       []row          `json:"scenarios"`
	Scale      []scaleRow     `json:"scale,omitempty"`
	ScaleRatio []scaleRatio   `json:"scale_ratios,omitempty"`
	Soak       *soakReport    `json:"soak,omitempty"`
}

type machine struct {
	CPUs       int    `json:"cpus"`
	CPUModel   string `json:"cpu_model"`
	MemoryGiB  string `json:"memory"`
	GoVersion  string `json:"go"`
	OS         string `json:"os"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Date       string `json:"date"`
}

// otherLoadWarning is the share of the machine used by others above which
// a measurement is marked as disturbed.
const otherLoadWarning = 0.05

// row is one scenario's result.
type row struct {
	Scenario  string           `json:"scenario"`
	Status    string           `json:"status"` // "ok", "unavailable: why", "failed: why"
	Requests  int64            `json:"requests"`
	RPS       float64          `json:"requests_per_sec"`
	P50       float64          `json:"p50_ms"`
	P90       float64          `json:"p90_ms"`
	P99       float64          `json:"p99_ms"`
	Max       float64          `json:"max_ms"`
	Non2xx    int64            `json:"non_2xx"`
	Transport int64            `json:"transport_errors"`
	Statuses  map[string]int64 `json:"statuses,omitempty"`
	FirstErr  string           `json:"first_error,omitempty"`
	CPUPer1k  *float64         `json:"server_cpu_seconds_per_1000,omitempty"` // nil: n/a
	// OtherLoad is the share of the machine's CPU that processes other
	// than the tool's used during the measurement (nil: unknown).
	OtherLoad *float64 `json:"other_load,omitempty"`
	Attempts  int      `json:"attempts,omitempty"` // measurements made; the least disturbed is reported
	Ceiling   string   `json:"ceiling,omitempty"`
	Ratio     *float64 `json:"ratio,omitempty"`        // of the ceiling's throughput
	P99Delta  *float64 `json:"p99_delta_ms,omitempty"` // p99 minus the ceiling's
}

func (r row) ok() bool { return r.Status == "ok" }

// newRow summarizes a measurement.
func newRow(name string, m measurement) row {
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	r := row{Scenario: name, Status: "ok", Requests: m.Requests, RPS: m.rps(),
		P50: ms(m.percentile(.50)), P90: ms(m.percentile(.90)), P99: ms(m.percentile(.99)), Max: ms(m.percentile(1)),
		Non2xx: m.Non2xx, Transport: m.Transport, FirstErr: m.FirstErr}
	if len(m.Statuses) > 0 {
		r.Statuses = map[string]int64{}
		for k, v := range m.Statuses {
			r.Statuses[strconv.Itoa(k)] = v
		}
	}
	if m.CPUKnown && m.Requests > 0 {
		v := m.CPU.Seconds() / (float64(m.Requests) / 1000)
		r.CPUPer1k = &v
	}
	return r
}

// scaleRow is one server of the scale scenario.
type scaleRow struct {
	Backend     string  `json:"backend"`
	Registered  int     `json:"registered"` // clients, and as many AppKeys
	Active      int     `json:"active"`     // credentials the load cycles through
	Provision   float64 `json:"provision_seconds"`
	Startup     float64 `json:"startup_ms"` // process start to /readyz 200
	RSS         int64   `json:"rss_bytes"`  // after the load
	PeakRSS     int64   `json:"peak_rss_bytes"`
	MemoryKnown bool    `json:"memory_known"`
	Rows        []row   `json:"scenarios"`
}

// scaleRatio compares the largest size's throughput with the smallest's.
type scaleRatio struct {
	Backend  string  `json:"backend"`
	Scenario string  `json:"scenario"`
	Small    int     `json:"small"`
	Large    int     `json:"large"`
	Ratio    float64 `json:"ratio"`
}

// problems lists what makes the run fail: scenarios that failed or saw
// errors. An unavailable scenario is not one.
func (rep *report) problems() []string {
	var out []string
	check := func(prefix string, r row) {
		switch {
		case strings.HasPrefix(r.Status, "failed"):
			out = append(out, prefix+r.Scenario+": "+r.Status)
		case r.Non2xx > 0 || r.Transport > 0:
			out = append(out, fmt.Sprintf("%s%s: %d non-2xx answers %v and %d transport errors (first: %s)",
				prefix, r.Scenario, r.Non2xx, r.Statuses, r.Transport, r.FirstErr))
		}
	}
	for _, r := range rep.Rows {
		check("", r)
	}
	for _, s := range rep.Scale {
		for _, r := range s.Rows {
			check(fmt.Sprintf("scale %s %d: ", s.Backend, s.Registered), r)
		}
	}
	if s := rep.Soak; s != nil {
		out = append(out, s.problems()...)
	}
	return out
}

func (rep *report) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	var b bytes.Buffer
	m := rep.Machine
	fmt.Fprintf(&b, "machine: %d CPUs (%s), %s memory, %s, %s, GOMAXPROCS %d (servers and load generator), %s\n",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.OS, m.GoVersion, m.GOMAXPROCS, m.Date)
	for _, s := range rep.Setup {
		fmt.Fprintf(&b, "%s\n", s)
	}
	if len(rep.Rows) > 0 || len(rep.Scale) > 0 {
		fmt.Fprintf(&b, "load: %d keep-alive connections, %s measured per scenario after %s of warm-up\n",
			rep.Conns, fmtSeconds(rep.Duration), fmtSeconds(rep.Warmup))
	}
	if c := rep.Crypto; c != nil {
		fmt.Fprintf(&b, "\nES384 in-process, %d goroutines, %s each: %.0f signatures/s, %.0f verifications/s (%.0f µs and %.0f µs of CPU each)\n",
			c.Goroutines, fmtSeconds(c.SecondsPerRun), c.SignPerSec, c.VerifyPerSec,
			float64(c.Goroutines)*1e6/c.SignPerSec, float64(c.Goroutines)*1e6/c.VerifyPerSec)
	}
	if len(rep.Rows) > 0 {
		b.WriteString("\n")
		writeRows(&b, rep.Rows)
	}
	if len(rep.Scale) > 0 {
		b.WriteString("\nscale\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "backend\tregistered\tactive\tprovisioning\tstart-up\tRSS\tpeak RSS\tscenario\treq/s\tp50\tp99\terrors\tCPU s/1k\tother load\t")
		for _, s := range rep.Scale {
			for i, r := range s.Rows {
				head := "\t\t\t\t\t\t\t"
				if i == 0 {
					head = fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t", s.Backend, thousands(float64(s.Registered)), thousands(float64(s.Active)),
						fmtSeconds(s.Provision), fmtMS(s.Startup), fmtBytes(s.RSS, s.MemoryKnown), fmtBytes(s.PeakRSS, s.MemoryKnown))
				}
				fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", head, r.Scenario, rowRPS(r), fmtMS(r.P50), fmtMS(r.P99),
					fmtErrors(r), fmtCPU(r.CPUPer1k), fmtLoad(r.OtherLoad, r.Attempts))
			}
		}
		tw.Flush()
		for _, sr := range rep.ScaleRatio {
			fmt.Fprintf(&b, "%s %s: %s registered reach %.2f of the throughput with %s\n", sr.Backend, sr.Scenario,
				thousands(float64(sr.Large)), sr.Ratio, thousands(float64(sr.Small)))
		}
	}
	if rep.Soak != nil {
		rep.Soak.write(&b)
	}
	if rep.disturbed() {
		fmt.Fprintf(&b, "\n* other processes used more than %.0f %% of the machine's CPU during this measurement: its figures are disturbed; rerun on a quiet machine\n",
			otherLoadWarning*100)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// disturbed reports whether other load disturbed any measurement.
func (rep *report) disturbed() bool {
	rows := slices.Clone(rep.Rows)
	for _, s := range rep.Scale {
		rows = append(rows, s.Rows...)
	}
	return slices.ContainsFunc(rows, func(r row) bool { return r.OtherLoad != nil && *r.OtherLoad > otherLoadWarning })
}

func writeRows(w io.Writer, rows []row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\treq/s\tp50\tp90\tp99\tmax\tnon-2xx\ttransport\tCPU s/1k req\tother load\tof ceiling\t")
	for _, r := range rows {
		if !r.ok() {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\t\t\t\t\n", r.Scenario, r.Status)
			continue
		}
		ratio := ""
		if r.Ratio != nil {
			ratio = fmt.Sprintf("%.1f %% of %s", *r.Ratio*100, r.Ceiling)
			if r.P99Delta != nil {
				ratio += fmt.Sprintf(", p99 %+.2f ms", *r.P99Delta)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\t\n", r.Scenario, rowRPS(r), fmtMS(r.P50), fmtMS(r.P90),
			fmtMS(r.P99), fmtMS(r.Max), r.Non2xx, r.Transport, fmtCPU(r.CPUPer1k), fmtLoad(r.OtherLoad, r.Attempts), ratio)
	}
	tw.Flush()
}

func rowRPS(r row) string {
	if !r.ok() {
		return r.Status
	}
	return thousands(r.RPS)
}

func fmtErrors(r row) string {
	if r.Non2xx == 0 && r.Transport == 0 {
		return "0"
	}
	return fmt.Sprintf("%d+%d", r.Non2xx, r.Transport)
}

func fmtMS(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.2f ms", ms)
}

func fmtSeconds(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Millisecond).String()
}

func fmtCPU(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", *v)
}

// fmtLoad shows other processes' share of the machine, starred when it
// disturbed the measurement.
func fmtLoad(v *float64, attempts int) string {
	if v == nil {
		return "n/a"
	}
	s := fmt.Sprintf("%.0f %%", *v*100)
	if attempts > 1 {
		s = fmt.Sprintf("%s (try %d)", s, attempts)
	}
	if *v > otherLoadWarning {
		s += " *"
	}
	return s
}

func fmtBytes(n int64, known bool) string {
	if !known {
		return "n/a"
	}
	return fmt.Sprintf("%.0f MB", float64(n)/1e6)
}

// thousands formats n rounded, with commas: 12,345.
func thousands(n float64) string {
	s := strconv.FormatInt(int64(n+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// describeMachine reads what the report says of the machine.
func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), CPUModel: "unknown", MemoryGiB: "unknown", GoVersion: runtime.Version(),
		OS: runtime.GOOS + "/" + runtime.GOARCH, GOMAXPROCS: runtime.GOMAXPROCS(0), Date: time.Now().UTC().Format(time.RFC3339)}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
					m.MemoryGiB = fmt.Sprintf("%.0f GiB", kb/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS += " (Linux " + strings.TrimSpace(string(b)) + ")"
	}
	return m
}

// setRatios fills each row's ratio to its ceiling, when both ran.
func setRatios(rows []row) {
	find := func(name string) (row, bool) {
		i := slices.IndexFunc(rows, func(r row) bool { return r.Scenario == name })
		if i < 0 || !rows[i].ok() || rows[i].RPS == 0 {
			return row{}, false
		}
		return rows[i], true
	}
	for i := range rows {
		r := &rows[i]
		ceiling, withP99 := ceilingOf(r.Scenario)
		if ceiling == "" || !r.ok() {
			continue
		}
		c, ok := find(ceiling)
		if !ok {
			continue
		}
		ratio := r.RPS / c.RPS
		r.Ceiling, r.Ratio = ceiling, &ratio
		if withP99 {
			d := r.P99 - c.P99
			r.P99Delta = &d
		}
	}
}

// ceilingOf names the scenario whose throughput bounds name's, and
// whether the p99 is compared too.
func ceilingOf(name string) (string, bool) {
	switch name {
	case scTokenCC:
		return scReference, false
	case scTokenCCMultipart:
		return scReferenceMultipart, false
	case scGatewayJWT, scGatewayAppKey:
		return scProxyNoAuth, true
	case scProxyNoAuth:
		return scUpstreamDirect, true
	}
	return "", false
}
