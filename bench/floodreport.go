package main

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// floodReport is the banned flood's part of the report.
type floodReport struct {
	Duration    string `json:"duration"`
	Connections int    `json:"connections"`
	StreamBytes int64  `json:"stream_bytes"`
	// Config is what the flood gateway's configuration adds to the
	// measured gateway's.
	Config     string `json:"config"`
	BannedXFF  string `json:"banned_x_forwarded_for"`
	BannedPeer string `json:"banned_peer"`
	Viewer     string `json:"viewer_x_forwarded_for"`
	// CloseAfter403 is set when the gateway closes the connection after a
	// 403: each refused request then costs the flooder a new connection.
	CloseAfter403 bool         `json:"connection_close_after_403"`
	PeakRSSMiB    *float64     `json:"peak_rss_mib,omitempty"`
	Kinds         []*floodKind `json:"kinds,omitempty"`
	Errors        []string     `json:"errors,omitempty"`
}

// floodKind is one kind of flood, over all rounds: medians, and totals of
// the counts.
type floodKind struct {
	Name string `json:"name"`
	What string `json:"what"`
	Runs int    `json:"runs"`
	// RejectedPerSec: 403 answers per second, or connections closed at
	// accept per second.
	RejectedPerSec *float64 `json:"rejected_per_s,omitempty"`
	Rejected       int64    `json:"rejected"`
	NotRejected    int64    `json:"not_rejected"`
	SocketErrors   int64    `json:"socket_errors"`
	// ReachedUpstream: the flood's requests (GET /Items) the upstream
	// served during the floods; OtherUpstream: any other request it
	// served meanwhile, the streams aside.
	ReachedUpstream int64    `json:"reached_upstream"`
	OtherUpstream   int64    `json:"other_upstream_requests"`
	P50us           *float64 `json:"p50_us,omitempty"`
	P99us           *float64 `json:"p99_us,omitempty"`
	// GatewayCPUPct is the flood gateway's CPU during flood and stream, in
	// percent of one CPU; GatewayCPUusPerRejected is that CPU, less what
	// the same stream cost on the idle gateway, per rejection.
	GatewayCPUPct           *float64 `json:"gateway_cpu_pct,omitempty"`
	GatewayCPUusPerRejected *float64 `json:"gateway_cpu_us_per_rejected,omitempty"`
	// GatewaySysPct is the share of the gateway's CPU spent in the kernel
	// (accepting, reading, writing and closing connections).
	GatewaySysPct   *float64  `json:"gateway_cpu_system_pct,omitempty"`
	ServerCPU       *cpuShare `json:"server_cpu,omitempty"`
	LoadCPU         *cpuShare `json:"load_cpu,omitempty"`
	StreamIdleMiBs  *float64  `json:"stream_idle_mib_s,omitempty"`
	StreamFloodMiBs *float64  `json:"stream_flood_mib_s,omitempty"`
	// StreamRatio is the median of each round's flooded/idle.
	StreamRatio *float64 `json:"stream_ratio,omitempty"`
	// StreamUnderFlood is the share of the flooded stream's time the
	// flood ran (1: all of it).
	StreamUnderFlood *float64 `json:"stream_under_flood,omitempty"`

	runs []floodRun
}

// startFlood adds the flood's part to the report.
func (r *report) startFlood(o options) *floodReport {
	r.Flood = &floodReport{
		Duration: o.floodDuration.String(), Connections: floodConns, StreamBytes: o.streamBytes,
		Config: strings.TrimSpace(floodConf), BannedXFF: floodBannedXFF, BannedPeer: floodBannedPeer, Viewer: floodViewer,
	}
	return r.Flood
}

func (f *floodReport) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.Errors = append(f.Errors, msg)
	fmt.Println("bench: banned flood:", msg)
}

func (f *floodReport) kind(name, what string) *floodKind {
	for _, k := range f.Kinds {
		if k.Name == name {
			return k
		}
	}
	k := &floodKind{Name: name, What: what}
	f.Kinds = append(f.Kinds, k)
	return k
}

func (f *floodReport) add(name, what string, r floodRun, err error) {
	if err != nil {
		f.fail("%s: %v", what, err)
		return
	}
	k := f.kind(name, what)
	k.runs = append(k.runs, r)
	k.Runs++
	k.Rejected += r.Rejected
	k.NotRejected += r.NotRejected
	k.SocketErrors += r.SockErrs
	k.ReachedUpstream += r.Reached
	k.OtherUpstream += r.Other
}

// finish turns the runs into medians, and notes what makes a number less
// than it seems.
func (f *floodReport) finish(r *report) {
	for _, k := range f.Kinds {
		runs := k.runs
		k.RejectedPerSec = median(runs, func(x floodRun) float64 { return x.PerSec })
		if k.Name == "403" {
			k.P50us = median(runs, func(x floodRun) float64 { return us(x.P50) })
			k.P99us = median(runs, func(x floodRun) float64 { return us(x.P99) })
		}
		k.GatewayCPUPct = median(runs, func(x floodRun) float64 { return 100 * x.GatewayCPU.Seconds() / x.Wall.Seconds() })
		k.GatewaySysPct = median(runs, func(x floodRun) float64 {
			if x.GatewayCPU == 0 {
				return 0
			}
			return 100 * x.GatewaySys.Seconds() / x.GatewayCPU.Seconds()
		})
		k.GatewayCPUusPerRejected = median(runs, func(x floodRun) float64 {
			return perReq(max(x.GatewayCPU-x.Idle.ProxyCPU, 0), x.Rejected)
		})
		k.ServerCPU = medianShare(runs, func(x floodRun) *cpuShare { return x.ServerCPU })
		k.LoadCPU = medianShare(runs, func(x floodRun) *cpuShare { return x.LoadCPU })
		k.StreamIdleMiBs = median(runs, func(x floodRun) float64 { return x.Idle.BytesSec / (1 << 20) })
		k.StreamFloodMiBs = median(runs, func(x floodRun) float64 { return x.Flooded.BytesSec / (1 << 20) })
		k.StreamRatio = median(runs, func(x floodRun) float64 { return x.Flooded.BytesSec / x.Idle.BytesSec })
		k.StreamUnderFlood = median(runs, func(x floodRun) float64 { return x.UnderFlood })

		if k.NotRejected > 0 || k.SocketErrors > 0 {
			detail := ""
			if d := lastDetail(runs); d != "" {
				detail = " (" + d + ")"
			}
			r.note("banned flood, %s: %d not rejected, %d socket errors%s", k.What, k.NotRejected, k.SocketErrors, detail)
		}
		if k.ReachedUpstream > 0 {
			r.note("banned flood, %s: %d of the flood's requests reached the upstream", k.What, k.ReachedUpstream)
		}
		if k.OtherUpstream > 0 {
			r.note("banned flood, %s: the upstream served %d other requests during the flood, the stream aside", k.What, k.OtherUpstream)
		}
		for _, c := range []struct {
			which string
			share *cpuShare
		}{{"server CPU (gateway and upstream)", k.ServerCPU}, {"load CPU (flood and curl)", k.LoadCPU}} {
			if c.share != nil && c.share.Busy >= 95 {
				r.note("banned flood, %s: the %s was %.0f%% busy: it bounds what this flood measured", k.What, c.which, c.share.Busy)
			}
		}
		if k.StreamUnderFlood != nil && *k.StreamUnderFlood < 0.99 {
			r.note("banned flood, %s: the stream outlasted the flood; %.0f%% of it ran under the flood", k.What, 100**k.StreamUnderFlood)
		}
		for _, v := range []*float64{k.RejectedPerSec, k.P50us, k.P99us, k.GatewayCPUPct, k.GatewayCPUusPerRejected, k.GatewaySysPct,
			k.StreamIdleMiBs, k.StreamFloodMiBs} {
			roundTo(v, 100)
		}
		roundTo(k.StreamRatio, 1000)
		roundTo(k.StreamUnderFlood, 1000)
		for _, c := range []*cpuShare{k.ServerCPU, k.LoadCPU} {
			if c != nil {
				roundTo(&c.Busy, 10)
				roundTo(&c.Steal, 10)
			}
		}
	}
	roundTo(f.PeakRSSMiB, 100)
}

func lastDetail(runs []floodRun) string {
	for i := len(runs) - 1; i >= 0; i-- {
		if d := runs[i].ErrDetail; d != "" {
			return d
		}
	}
	return ""
}

// medianShare is the median busy and steal shares of the runs that have
// one; nil when none has.
func medianShare(runs []floodRun, f func(floodRun) *cpuShare) *cpuShare {
	var have []cpuShare
	for _, x := range runs {
		if c := f(x); c != nil {
			have = append(have, *c)
		}
	}
	if len(have) == 0 {
		return nil
	}
	return &cpuShare{
		Busy:  *median(have, func(c cpuShare) float64 { return c.Busy }),
		Steal: *median(have, func(c cpuShare) float64 { return c.Steal }),
	}
}

// text writes the flood's table.
func (f *floodReport) text(w *bytes.Buffer, pinned bool) {
	d, _ := time.ParseDuration(f.Duration)
	out(w, "\nbanned flood: a second jellyguard with %s (shield defaults, nothing exempt but the trusted proxy); "+
		"%d connections for %s from a banned client while curl downloads %d MiB as X-Forwarded-For %s, "+
		"against the same download on the idle gateway just before\n",
		f.Config, f.Connections, d, f.StreamBytes>>20, f.Viewer)
	if len(f.Kinds) > 0 {
		out(w, "\n")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		out(tw, "flood\trejected/s\tnot rejected\treached upstream\tp50\tp99\tgateway CPU (kernel share)\tCPU µs/rejected\tCPU busy server/load\tstream idle MiB/s\tunder flood MiB/s\t×idle\t\n")
		for _, k := range f.Kinds {
			busy := "-"
			if k.ServerCPU != nil && k.LoadCPU != nil {
				busy = fmt.Sprintf("%.0f%%/%.0f%%", k.ServerCPU.Busy, k.LoadCPU.Busy)
			}
			gw := num(k.GatewayCPUPct, "%.0f%%")
			if k.GatewaySysPct != nil {
				gw += fmt.Sprintf(" (%.0f%%)", *k.GatewaySysPct)
			}
			out(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", k.What,
				num(k.RejectedPerSec, "%.0f"), k.NotRejected, k.ReachedUpstream, dur(k.P50us), dur(k.P99us),
				gw, num(k.GatewayCPUusPerRejected, "%.1f"), busy,
				num(k.StreamIdleMiBs, "%.0f"), num(k.StreamFloodMiBs, "%.0f"), num(k.StreamRatio, "%.2f"))
		}
		_ = tw.Flush()
	}
	var facts []string
	if f.CloseAfter403 {
		facts = append(facts, "the 403 closes its connection (Connection: close), so every rejected request is a new TCP connection")
	}
	if f.PeakRSSMiB != nil {
		facts = append(facts, fmt.Sprintf("flood gateway peak RSS %.1f MiB", *f.PeakRSSMiB))
	}
	if !pinned {
		facts = append(facts, "nothing pinned: no CPU busy shares")
	}
	if len(facts) > 0 {
		out(w, "%s\n", strings.Join(facts, "; "))
	}
	for _, e := range f.Errors {
		out(w, "banned flood: %s\n", e)
	}
}
