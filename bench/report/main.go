// Command report regenerates cookieseal's comparison with its peers: it
// runs the benchmarks of bench/ (BenchmarkSession, BenchmarkWriteParts,
// BenchmarkRequest, BenchmarkSeal and BenchmarkOpen, -count 10) and the
// wrk load test (TestLoad), then writes, in bench/report/:
//
//   - bench.txt: the raw benchmark output (benchstat reads it too);
//   - wrk.json: the load test's medians;
//   - overhead.png: request overhead over bare net/http by session size,
//     per library, read and write;
//   - throughput.png: requests per second per library under wrk;
//   - REPORT.md: the tables behind the charts, with the machine.
//
// From the repository root:
//
//	go run ./bench/report                 # everything (about 25 minutes)
//	go run ./bench/report -render         # charts and tables from the files already there
//	go run ./bench/report -count 3 -rounds 2 -duration 2s   # a quick look
//
// It needs wrk and taskset (Debian: wrk, util-linux) and, for scs with
// its Redis store, redis-server. -wrk=false leaves the load test out.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

func main() {
	count := flag.Int("count", 10, "benchmark -count")
	benchtime := flag.String("benchtime", "", "benchmark -benchtime (default: go test's)")
	withWRK := flag.Bool("wrk", true, "run the wrk load test")
	rounds := flag.Int("rounds", 5, "wrk rounds through every endpoint")
	duration := flag.String("duration", "3s", "wrk duration per endpoint and round")
	render := flag.Bool("render", false, "only render from bench.txt and wrk.json already in the output directory")
	flag.Parse()
	log.SetFlags(0)

	benchDir, err := goOut("list", "-m", "-f", "{{.Dir}}", "github.com/cookieseal/cookieseal/bench")
	if err != nil {
		log.Fatalf("report: finding the bench module (run from the repository): %v", err)
	}
	out := filepath.Join(benchDir, "report")
	benchFile, wrkFile := filepath.Join(out, "bench.txt"), filepath.Join(out, "wrk.json")
	if !*render {
		args := []string{"test", ".", "-run", "^$", "-bench", "^Benchmark(Session|WriteParts|Request|Seal|Open)$",
			"-benchmem", "-cpu", "1", "-count", strconv.Itoa(*count), "-timeout", "2h"}
		if *benchtime != "" {
			args = append(args, "-benchtime", *benchtime)
		}
		log.Printf("report: go %s", strings.Join(args, " "))
		if err := run(benchDir, benchFile, nil, "go", args...); err != nil {
			log.Fatal(err)
		}
		if *withWRK {
			env := []string{"COOKIESEAL_WRK=1", "COOKIESEAL_WRK_ROUNDS=" + strconv.Itoa(*rounds),
				"COOKIESEAL_WRK_DURATION=" + *duration, "COOKIESEAL_WRK_OUT=" + wrkFile}
			log.Printf("report: %s go test . -run '^TestLoad$' -v -timeout 2h", strings.Join(env, " "))
			if err := run(benchDir, "", env, "go", "test", ".", "-run", "^TestLoad$", "-v", "-count", "1", "-timeout", "2h"); err != nil {
				log.Fatal(err)
			}
		}
	}
	bench, machine, err := parseBench(benchFile)
	if err != nil {
		log.Fatal(err)
	}
	var load *wrkReport
	if data, err := os.ReadFile(wrkFile); err == nil {
		load = new(wrkReport)
		if err := json.Unmarshal(data, load); err != nil {
			log.Fatalf("report: %s: %v", wrkFile, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		log.Fatal(err)
	}
	if err := overheadChart(bench, filepath.Join(out, "overhead.png")); err != nil {
		log.Fatal(err)
	}
	if load != nil {
		if err := throughputChart(load, filepath.Join(out, "throughput.png")); err != nil {
			log.Fatal(err)
		}
	}
	md := markdown(bench, load, machine)
	if err := os.WriteFile(filepath.Join(out, "REPORT.md"), []byte(md), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Print(md)
}

func goOut(args ...string) (string, error) {
	b, err := exec.Command("go", args...).Output()
	return strings.TrimSpace(string(b)), err
}

// run runs a command in dir with extra environment, its stdout to file
// (and the terminal) when file is set.
func run(dir, file string, env []string, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	var buf bytes.Buffer
	if file != "" {
		cmd.Stdout = &buf
	} else {
		cmd.Stdout = os.Stdout
	}
	err := cmd.Run()
	if file != "" {
		if werr := os.WriteFile(file, buf.Bytes(), 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return fmt.Errorf("report: %s %s: %w", name, strings.Join(args, " "), err)
	}
	return nil
}

// benchResults maps a benchmark name without the -N suffix
// ("Session/size=1KB/read/cookieseal") to its ns/op samples.
type benchResults map[string][]float64

func (b benchResults) med(name string) (float64, bool) {
	xs := b[name]
	if len(xs) == 0 {
		return 0, false
	}
	return median(xs), true
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// parseBench reads go test -bench output: ns/op per benchmark, and the
// cpu line.
func parseBench(file string) (benchResults, string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, "", fmt.Errorf("report: %w (run without -render first)", err)
	}
	defer f.Close()
	res := benchResults{}
	machine := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "cpu: "); ok {
			machine = v
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || fields[3] != "ns/op" {
			continue
		}
		name := strings.TrimPrefix(fields[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the -GOMAXPROCS suffix
			}
		}
		// Prefer CPU time (cpu-ns/op, see bench.cpuLoop) over wall time.
		v, err := strconv.ParseFloat(fields[2], 64)
		for i := 4; i+1 < len(fields); i += 2 {
			if fields[i+1] == "cpu-ns/op" {
				v, err = strconv.ParseFloat(fields[i], 64)
			}
		}
		if err != nil {
			continue
		}
		res[name] = append(res[name], v)
	}
	if len(res) == 0 {
		return nil, "", fmt.Errorf("report: no benchmark results in %s", file)
	}
	return res, machine, sc.Err()
}

// floorName says, in the chart's legend, what an op's floor holds.
var floorName = map[string]string{"read": "open alone", "write": "open + seal + base64url + lines"}

var (
	sizes     = []string{"small", "1KB", "3.8KB", "10KB"}
	libraries = []string{"cookieseal", "scs", "gorilla-sessions"}
	ops       = []string{"read", "write"}
	parts     = []string{"open", "json", "seal", "base64", "line"}
)

// eachRow calls row for every size and op that both cookieseal and scs
// have, with their overheads in µs.
func (b benchResults) eachRow(row func(size, op string, cs, sc float64)) {
	for _, size := range sizes {
		for _, op := range ops {
			cs, ok1 := b.overhead(size, op, "cookieseal")
			sc, ok2 := b.overhead(size, op, "scs")
			if ok1 && ok2 {
				row(size, op, cs, sc)
			}
		}
	}
}

// overhead is the median time of impl over bare's, in µs, at a size and
// op.
func (b benchResults) overhead(size, op, impl string) (float64, bool) {
	v, ok := b.med("Session/size=" + size + "/" + op + "/" + impl)
	base, okb := b.med("Session/size=" + size + "/" + op + "/bare")
	if !ok || !okb {
		return 0, false
	}
	return (v - base) / 1000, true
}

// floor is the median time, in µs, of the work an op at a size cannot
// avoid (BenchmarkWriteParts in the same run): for a read, open (base64url
// decode and XChaCha20-Poly1305 open); for a write, open, seal, base64url
// and the Set-Cookie lines (not encoding/json of the values: cookieseal
// copies unchanged values as raw JSON).
func (b benchResults) floor(size, op string) (float64, bool) {
	names := []string{"open", "seal", "base64", "line"}
	if op == "read" {
		names = names[:1]
	}
	return b.sumParts(size, names)
}

// sumParts is the sum of the median times, in µs, of the named parts of
// BenchmarkWriteParts at a size.
func (b benchResults) sumParts(size string, names []string) (float64, bool) {
	sum := 0.0
	for _, p := range names {
		v, ok := b.med("WriteParts/size=" + size + "/" + p)
		if !ok {
			return 0, false
		}
		sum += v / 1000
	}
	return sum, true
}

var palette = []color.Color{
	color.RGBA{0x1b, 0x9e, 0x77, 0xff}, // cookieseal
	color.RGBA{0xd9, 0x5f, 0x02, 0xff},
	color.RGBA{0x75, 0x70, 0xb3, 0xff},
	color.RGBA{0xe7, 0x29, 0x8a, 0xff},
	color.RGBA{0x66, 0xa6, 0x1e, 0xff},
	color.RGBA{0x80, 0x80, 0x80, 0xff},
}

// groupedBars adds one bar series per name to p, values[i][j] for name i
// at category j, side by side.
func groupedBars(p *plot.Plot, names []string, values [][]float64, colors []color.Color) error {
	w := vg.Points(72 / float64(len(names)+1))
	top := 0.0
	for i, name := range names {
		top = max(top, slices.Max(values[i]))
		bars, err := plotter.NewBarChart(plotter.Values(values[i]), w)
		if err != nil {
			return err
		}
		bars.LineStyle.Width = 0
		bars.Color = colors[i%len(colors)]
		bars.Offset = w * vg.Length(float64(i)-float64(len(names)-1)/2)
		p.Add(bars)
		p.Legend.Add(name, bars)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Min, p.Y.Max = 0, top*1.35 // room for the legend above the bars
	return nil
}

func overheadChart(b benchResults, file string) error {
	plots := make([][]*plot.Plot, 1)
	for _, op := range ops {
		p := plot.New()
		p.Title.Text = "CPU time over bare net/http, " + op
		p.Y.Label.Text = "µs per request (median of 10)"
		p.X.Label.Text = "session size (cookieseal's cookie)"
		var names []string
		var values [][]float64
		for _, lib := range libraries {
			vals := make([]float64, len(sizes))
			any := false
			for j, s := range sizes {
				if v, ok := b.overhead(s, op, lib); ok {
					vals[j], any = max(v, 0), true
				}
			}
			if any {
				names, values = append(names, lib), append(values, vals)
			}
		}
		floor := make([]float64, len(sizes))
		for j, s := range sizes {
			floor[j], _ = b.floor(s, op)
		}
		names, values = append(names, "floor: "+floorName[op]), append(values, floor)
		if err := groupedBars(p, names, values, append(palette[:len(names)-1:len(names)-1], color.Gray{0xa0})); err != nil {
			return err
		}
		p.NominalX(sizes...)
		plots[0] = append(plots[0], p)
	}
	return saveTiles(plots, file, 26*vg.Centimeter, 10*vg.Centimeter)
}

type wrkReport struct {
	Rounds   int          `json:"rounds"`
	Duration string       `json:"duration"`
	Results  []loadResult `json:"results"`
}

type loadResult struct {
	Size      string  `json:"size"`
	Op        string  `json:"op"`
	Impl      string  `json:"impl"`
	ReqPerSec float64 `json:"req_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
}

var loadImpls = []string{"bare", "floor", "cookieseal", "scs", "scs-redis", "gorilla-sessions"}

// loadColors are the throughput chart's colours: bare in grey, floor
// (what no correct read of cookieseal's format avoids; see bench's
// TestLoadServer) in a light shade of cookieseal's.
var loadColors = map[string]color.Color{
	"bare":             palette[5],
	"floor":            color.RGBA{0x8f, 0xd1, 0xbb, 0xff},
	"cookieseal":       palette[0],
	"scs":              palette[1],
	"scs-redis":        palette[3],
	"gorilla-sessions": palette[2],
}

func (w *wrkReport) find(size, op, impl string) (loadResult, bool) {
	for _, r := range w.Results {
		if r.Size == size && r.Op == op && r.Impl == impl {
			return r, true
		}
	}
	return loadResult{}, false
}

// loadCases are the (size, op) groups of the throughput chart.
func (w *wrkReport) loadCases() [][2]string {
	var cs [][2]string
	for _, r := range w.Results {
		c := [2]string{r.Size, r.Op}
		if !slices.Contains(cs, c) {
			cs = append(cs, c)
		}
	}
	return cs
}

func throughputChart(w *wrkReport, file string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("requests per second under wrk (server on one core, median of %d rounds of %s)", w.Rounds, w.Duration)
	p.Y.Label.Text = "requests / s"
	cases := w.loadCases()
	var labels []string
	for _, c := range cases {
		labels = append(labels, c[0]+" "+c[1])
	}
	var names []string
	var values [][]float64
	for _, impl := range loadImpls {
		vals := make([]float64, len(cases))
		any := false
		for j, c := range cases {
			if r, ok := w.find(c[0], c[1], impl); ok {
				vals[j], any = r.ReqPerSec, true
			}
		}
		if any {
			names, values = append(names, impl), append(values, vals)
		}
	}
	var colors []color.Color
	for _, n := range names {
		colors = append(colors, loadColors[n])
	}
	if err := groupedBars(p, names, values, colors); err != nil {
		return err
	}
	p.Legend.Left = false
	p.NominalX(labels...)
	return saveTiles([][]*plot.Plot{{p}}, file, 26*vg.Centimeter, 11*vg.Centimeter)
}

func saveTiles(plots [][]*plot.Plot, file string, w, h vg.Length) error {
	img := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(110))
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(plots), Cols: len(plots[0]), PadX: vg.Centimeter, PadY: vg.Centimeter,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align(plots, t, dc)
	for j := range plots {
		for i, p := range plots[j] {
			p.Draw(canvases[j][i])
		}
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func markdown(b benchResults, w *wrkReport, machine string) string {
	var s strings.Builder
	fmt.Fprintf(&s, "# cookieseal against its peers\n\nGenerated %s by `go run ./bench/report` on %s, %d CPUs, %s/%s, %s. Medians; overheads are a library's time minus bare net/http's in the same run.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), machine, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	s.WriteString("Benchmarks run with -cpu 1; BenchmarkSession and BenchmarkWriteParts report CPU time per request (user + system, getrusage: time spent waiting for a shared core does not count), the others wall time.\n\n")
	s.WriteString("![overhead](overhead.png)\n\n")
	s.WriteString("## Overhead by session size (µs over bare; ratio to scs's)\n\n")
	s.WriteString("| size | op | cookieseal | scs | gorilla/sessions | cookieseal / scs |\n|---|---|---:|---:|---:|---:|\n")
	b.eachRow(func(size, op string, cs, sc float64) {
		gs := "—"
		if g, ok := b.overhead(size, op, "gorilla-sessions"); ok {
			gs = fmt.Sprintf("%.1f", g)
		}
		fmt.Fprintf(&s, "| %s | %s | %.1f | %.1f | %s | **%.2f** |\n", size, op, cs, sc, gs, cs/sc)
	})
	s.WriteString("\n—: gorilla/sessions' cookie exceeds its 4096-byte limit (securecookie's MaxLength, a browser's). cookieseal's 10KB session is three chunks.\n")
	s.WriteString("\n## Against the floor\n\nThe floor is the work an op cannot avoid, each part timed alone in the same run (BenchmarkWriteParts): for a read, opening the cookie (base64url decode and XChaCha20-Poly1305 open); for a write, opening it, the seal, base64url and the Set-Cookie lines (not encoding/json of the values: cookieseal copies unchanged values as raw JSON). floor / scs is the ratio to scs's overhead that no implementation of this format on encoding/base64 and x/crypto can go below.\n\n")
	s.WriteString("| size | op | cookieseal (µs) | floor (µs) | cookieseal / floor | floor / scs |\n|---|---|---:|---:|---:|---:|\n")
	b.eachRow(func(size, op string, cs, sc float64) {
		if f, ok := b.floor(size, op); ok {
			fmt.Fprintf(&s, "| %s | %s | %.1f | %.1f | %.2f | %.2f |\n", size, op, cs, f, cs/f, f/sc)
		}
	})
	if w38, okw := b.overhead("3.8KB", "write", "cookieseal"); okw {
		if sum, ok := b.sumParts("3.8KB", parts); ok {
			fmt.Fprintf(&s, "\nA 3.8 KB write costs %.1f µs over bare; its parts alone (open, encoding/json, seal, base64url, one Set-Cookie line) sum to %.1f µs: **%.2f×**.\n", w38, sum, w38/sum)
		}
	}
	if bare, ok := b.med("Request/bare"); ok {
		cs, _ := b.med("Request/cookieseal")
		sc, _ := b.med("Request/scs")
		g, _ := b.med("Request/gorilla-sessions")
		fmt.Fprintf(&s, "\nBenchmarkRequest (small session, read): cookieseal's overhead is %.3f× scs's and %.3f× gorilla/sessions'.\n",
			(cs-bare)/(sc-bare), (cs-bare)/(g-bare))
	}
	if open, ok := b.med("Open/cookieseal"); ok {
		raw, _ := b.med("Open/raw")
		gob, _ := b.med("Open/securecookie-gob")
		fmt.Fprintf(&s, "Open: cookieseal %.2f× the raw json + XChaCha + base64 path, %.3f× securecookie-gob.\n", open/raw, open/gob)
	}
	if w != nil {
		fmt.Fprintf(&s, "\n![throughput](throughput.png)\n\n## Whole server under wrk (median of %d rounds of %s; server on core 0, wrk on core 1)\n\n", w.Rounds, w.Duration)
		s.WriteString("| size | op | impl | req/s | × bare | p50 ms | p99 ms | p99 × bare |\n|---|---|---|---:|---:|---:|---:|---:|\n")
		for _, c := range w.loadCases() {
			base, _ := w.find(c[0], c[1], "bare")
			for _, impl := range loadImpls {
				r, ok := w.find(c[0], c[1], impl)
				if !ok {
					continue
				}
				fmt.Fprintf(&s, "| %s | %s | %s | %.0f | %.3f | %.3f | %.3f | %.2f |\n", c[0], c[1], impl, r.ReqPerSec, r.ReqPerSec/base.ReqPerSec, r.P50Ms, r.P99Ms, r.P99Ms/base.P99Ms)
			}
		}
		s.WriteString("\nfloor is what no correct read of cookieseal's format avoids, in a whole server: the handler opens the session's value as it was set at login (cookie.Codec.AppendOpen: base64url decode and XChaCha20-Poly1305 open), with no cookie parsing and no middleware, and sends the two headers every response that reads a session must carry, Cache-Control: private and Vary: Cookie. No read of this format serves more requests per second.\n")
	}
	return s.String()
}
