package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	Requests  int64         // completed requests
	Seconds   float64       // measured duration
	RPS       float64       // Requests/sec
	P50, P99  time.Duration // from the Latency Distribution block
	Non2xx    int64         // "Non-2xx or 3xx responses"
	SockErrs  int64         // connect + read + write + timeout errors
	ErrDetail string
}

// runWrk runs wrk against url for d with threads and conns, the load
// generator pinned as p says, and parses its report.
func runWrk(ctx context.Context, p pinning, url, auth string, threads, conns int, d time.Duration) (wrkResult, error) {
	var headers []string
	if auth != "" {
		headers = append(headers, "Authorization: "+auth)
	}
	return runWrkHeaders(ctx, p, url, headers, threads, conns, d)
}

// runWrkHeaders is runWrk with any request headers ("Name: value").
func runWrkHeaders(ctx context.Context, p pinning, url string, headers []string, threads, conns int, d time.Duration) (wrkResult, error) {
	argv := append(append([]string{}, p.load...), "wrk",
		"-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns), "-d"+wrkDuration(d),
		"--timeout", "5s", "--latency")
	for _, h := range headers {
		argv = append(argv, "-H", h)
	}
	argv = append(argv, url)
	out, err := runBounded(ctx, d+30*time.Second, argv...)
	if err != nil {
		return wrkResult{}, err
	}
	return parseWrk(out)
}

// wrkDuration writes d the way wrk reads it (whole seconds at least 1, or
// milliseconds are not accepted).
func wrkDuration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return strconv.Itoa(max(s, 1)) + "s"
}

// parseWrk reads wrk's text report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	var haveRPS, inDist bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case line == "Latency Distribution":
			inDist = true
		case inDist && len(f) == 2 && strings.HasSuffix(f[0], "%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			switch f[0] {
			case "50%", "50.000%":
				r.P50 = d
			case "99%", "99.000%":
				r.P99 = d
			}
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			inDist = false
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: request count %q", f[0])
			}
			r.Requests = n
			if d, err := parseWrkDuration(strings.TrimSuffix(f[3], ",")); err == nil {
				r.Seconds = d.Seconds()
			}
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: %q", line)
			}
			r.RPS, haveRPS = v, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:") && len(f) == 5:
			r.Non2xx, _ = strconv.ParseInt(f[4], 10, 64)
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, _ := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				r.SockErrs += n
			}
			r.ErrDetail = strings.TrimPrefix(line, "Socket errors: ")
		}
	}
	if !haveRPS || r.P50 == 0 {
		return r, errors.New("wrk: no Requests/sec or latency distribution in its output:\n" + out)
	}
	return r, nil
}

// parseWrkDuration reads wrk's latencies: "812.00us", "1.23ms", "2.00s",
// "1.00m".
func parseWrkDuration(s string) (time.Duration, error) {
	units := []struct {
		suffix string
		unit   time.Duration
	}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				break
			}
			return time.Duration(v * float64(u.unit)), nil
		}
	}
	return 0, fmt.Errorf("wrk: unreadable duration %q", s)
}
