package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cookieseal/cookieseal/revoke"
	"github.com/cookieseal/cookieseal/revoke/redis"
	"github.com/cookieseal/cookieseal/revoke/redis/redistest"
)

// Environment variables of the load measurements.
const (
	// envBenchLoad is the largest list BenchmarkRevokeLoad fills: "100k"
	// (the default), "1M" or "10M". Each size also gets as many unrelated
	// keys in the same database.
	envBenchLoad = "COOKIESEAL_BENCH_LOAD"
	// envLoadEntries turns TestRevokeLoad on with that many entries (and as
	// many unrelated keys), e.g. 1000000. Unset: the test skips.
	envLoadEntries = "COOKIESEAL_LOAD_ENTRIES"
)

// BenchmarkRevokeLoad measures how long a new Cached takes to be fresh (a
// Check answers instead of ErrStale) on a
// list of each size, in a Redis that holds as many unrelated keys besides,
// and how much Redis memory the list costs (INFO memory, used_memory before
// and after the fill) and the Go heap of the loaded cache:
//
//	COOKIESEAL_BENCH_LOAD=10M go test ./bench -run '^$' -bench RevokeLoad -benchtime 1x -count 1 -timeout 30m
func BenchmarkRevokeLoad(b *testing.B) {
	sizes := []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}, {"10M", 10_000_000}}
	limit := 100_000
	switch v := os.Getenv(envBenchLoad); v {
	case "", "100k":
	case "1M":
		limit = 1_000_000
	case "10M":
		limit = 10_000_000
	default:
		b.Fatalf("%s=%q: want 100k, 1M or 10M", envBenchLoad, v)
	}
	for _, sz := range sizes {
		if sz.n > limit {
			continue
		}
		b.Run("entries="+sz.name, func(b *testing.B) {
			s := startBig(b)
			client := s.Client(b)
			perEntry := fillList(b, s, client, redis.DefaultPrefix, sz.n)
			fillUnrelated(b, s, sz.n)
			var heap uint64
			var cpu time.Duration
			loads := 0
			b.ResetTimer()
			for b.Loop() {
				before := redisCPU(b, client)
				heap = timeLoad(b, client, sz.n)
				cpu += redisCPU(b, client) - before
				loads++
			}
			b.ReportMetric(perEntry, "redis-B/entry")
			b.ReportMetric(float64(heap)/float64(sz.n), "heap-B/entry")
			b.ReportMetric(cpu.Seconds()/float64(loads), "redis-cpu-s/op")
		})
	}
}

// TestRevokeLoad is the scale check for CI: a new Cached must load a list
// of COOKIESEAL_LOAD_ENTRIES entries, in a database holding as many
// unrelated keys, and answer correctly. It logs the load time; it asserts
// correctness, and only a generous time bound (45s) so that a loaded CI
// machine does not fail it:
//
//	COOKIESEAL_REQUIRE_REDIS=1 COOKIESEAL_LOAD_ENTRIES=1000000 go test ./bench -run TestRevokeLoad -v
func TestRevokeLoad(t *testing.T) {
	v := os.Getenv(envLoadEntries)
	if v == "" {
		t.Skipf("set %s (e.g. 1000000) to run the load test", envLoadEntries)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1000 {
		t.Fatalf("%s=%q: want an integer ≥ 1000", envLoadEntries, v)
	}
	s := startBig(t)
	client := s.Client(t)
	start := time.Now()
	perEntry := fillList(t, s, client, redis.DefaultPrefix, n)
	fillUnrelated(t, s, n)
	t.Logf("filled %d entries (%.0f Redis bytes/entry) and %d unrelated keys in %v", n, perEntry, n, time.Since(start).Round(time.Millisecond))

	c, err := redis.NewCached(client, redis.CachedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	cpu, self := redisCPU(t, client), processCPU()
	start = time.Now()
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for errors.Is(c.Check(ctx, revoke.SessionRef{ID: "probe"}), redis.ErrStale) {
		if time.Since(start) > 45*time.Second {
			t.Fatalf("not fresh after %v: %+v", time.Since(start), c.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	st := c.Stats()
	t.Logf("fresh after %v (CPU: Redis %v, this process %v); Stats %+v", time.Since(start).Round(time.Millisecond),
		(redisCPU(t, client) - cpu).Round(time.Millisecond), (processCPU() - self).Round(time.Millisecond), st)
	if st.LastLoadEntries != n || st.Entries != n || st.UnknownFields != 0 || st.Malformed != 0 {
		t.Fatalf("Stats = %+v; want %d entries read and held", st, n)
	}
	// Every kind of entry, sampled over the list, answers as written.
	for i := 0; i < n; i += n / 97 {
		e := entryAt(i)
		if err := c.Check(ctx, e.revoked); !errors.Is(err, revoke.ErrRevoked) {
			t.Fatalf("entry %d (%+v): %v; want revoked", i, e.revoked, err)
		}
		if err := c.Check(ctx, e.valid); err != nil {
			t.Fatalf("entry %d (%+v): %v; want valid", i, e.valid, err)
		}
	}
}

// startBig starts a server for a large fill: the test helper's server
// persists every write (appendfsync always), which a fill of millions of
// keys does not need, so persistence is turned off here.
func startBig(tb testing.TB) *redistest.Server {
	tb.Helper()
	s := redistest.Start(tb)
	c := s.Client(tb)
	ctx := context.Background()
	for _, kv := range [][2]string{{"appendonly", "no"}, {"save", ""}} {
		if err := c.ConfigSet(ctx, kv[0], kv[1]).Err(); err != nil {
			tb.Fatalf("CONFIG SET %s: %v", kv[0], err)
		}
	}
	return s
}

// timeLoad runs a new Cached until its first load completes and returns
// the Go heap it holds.
func timeLoad(b *testing.B, client goredis.UniversalClient, n int) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	c, err := redis.NewCached(client, redis.CachedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	start := time.Now()
	for errors.Is(c.Check(ctx, revoke.SessionRef{ID: "probe"}), redis.ErrStale) {
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("not fresh after %v", time.Since(start))
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got := c.Stats().Entries; got != n {
		b.Fatalf("loaded %d entries; want %d", got, n)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap := ms.HeapAlloc - min(base, ms.HeapAlloc)
	runtime.KeepAlive(c)
	cancel()
	<-done
	b.StartTimer()
	return heap
}

// benchEntry is entry i of the filled list, with a session it revokes and
// one it does not.
type benchEntry struct {
	subject, field, value string
	revoked, valid        revoke.SessionRef
}

// entryAt returns entry i. Of every 20 entries, 18 are sessions with a
// subject (4 per subject), one a session without subject, one a subject
// entry: a site where most revocations are logouts.
func entryAt(i int) benchEntry {
	until := time.Now().Add(7 * 24 * time.Hour).UnixMilli()
	issued := time.Now().Add(-time.Hour)
	id := fmt.Sprintf("%022d", i) // the length of a 128-bit base64url id
	switch i % 20 {
	case 19:
		subj := fmt.Sprintf("subject-%d", i)
		before := time.Now().Add(-time.Minute)
		return benchEntry{subject: subj, field: "u:" + subj, value: fmt.Sprintf("%d:%d", before.UnixMilli(), until),
			revoked: revoke.SessionRef{ID: id, Subject: subj, IssuedAt: issued},
			valid:   revoke.SessionRef{ID: id, Subject: subj, IssuedAt: time.Now()}}
	case 18:
		return benchEntry{field: "s::" + id, value: strconv.FormatInt(until, 10),
			revoked: revoke.SessionRef{ID: id, IssuedAt: issued},
			valid:   revoke.SessionRef{ID: id + "x", IssuedAt: issued}}
	default:
		subj := fmt.Sprintf("user-%d", i/4)
		return benchEntry{subject: subj, field: "s:" + subj + ":" + id, value: strconv.FormatInt(until, 10),
			revoked: revoke.SessionRef{ID: id, Subject: subj, IssuedAt: issued},
			valid:   revoke.SessionRef{ID: id, Subject: subj + "x", IssuedAt: issued}}
	}
}

// bucketKey is layout v2's bucket key, written here from the spec in
// revoke/redis's package doc rather than imported, so that the load test
// also checks that the package reads what the spec says.
func bucketKey(prefix, subject, id string) string {
	src := subject
	if src == "" {
		src = id
	}
	return fmt.Sprintf("%sv2:{%03x}", prefix, crc32.ChecksumIEEE([]byte(src))&1023)
}

// fillList writes n entries of layout v2 through redis-cli --pipe and
// returns Redis's used_memory growth per entry.
func fillList(tb testing.TB, s *redistest.Server, client goredis.UniversalClient, prefix string, n int) float64 {
	tb.Helper()
	before := usedMemory(tb, client)
	pipe(tb, s, func(w *bufio.Writer) {
		// One HSET per bucket for each chunk of entries: a hundred times
		// fewer commands than one per entry.
		const chunk = 200_000
		byBucket := map[string][]string{}
		for lo := 0; lo < n; lo += chunk {
			clear(byBucket)
			for i := lo; i < min(lo+chunk, n); i++ {
				e := entryAt(i)
				id := e.revoked.ID
				if e.subject != "" {
					id = ""
				}
				k := bucketKey(prefix, e.subject, id)
				if byBucket[k] == nil {
					byBucket[k] = []string{"HSET", k}
				}
				byBucket[k] = append(byBucket[k], e.field, e.value)
			}
			for _, args := range byBucket {
				writeCmd(w, args...)
			}
		}
		for b := range 1024 {
			writeCmd(w, "PEXPIRE", fmt.Sprintf("%sv2:{%03x}", prefix, b), "604800000")
		}
	})
	return float64(usedMemory(tb, client)-before) / float64(n)
}

// fillUnrelated writes n keys that are no part of the list, as an
// application sharing the database would.
func fillUnrelated(tb testing.TB, s *redistest.Server, n int) {
	tb.Helper()
	pipe(tb, s, func(w *bufio.Writer) {
		args := []string{"MSET"}
		for i := range n {
			args = append(args, "app:cache:"+strconv.Itoa(i), "some application value")
			if len(args) > 200 || i == n-1 {
				writeCmd(w, args...)
				args = args[:1]
			}
		}
	})
}

// pipe runs redis-cli --pipe on s with what gen writes (RESP commands).
func pipe(tb testing.TB, s *redistest.Server, gen func(w *bufio.Writer)) {
	tb.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		msg := "redis-cli not found (Debian: apt-get install redis-tools)"
		if os.Getenv(redistest.EnvRequire) == "1" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	cmd := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "--pipe")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	gen(w)
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	_ = stdin.Close()
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "errors: 0") {
		tb.Fatalf("redis-cli --pipe: %v\n%s", err, out.String())
	}
}

// writeCmd writes one RESP command.
func writeCmd(w *bufio.Writer, args ...string) {
	var num [20]byte
	w.WriteByte('*')
	w.Write(strconv.AppendInt(num[:0], int64(len(args)), 10))
	w.WriteString("\r\n")
	for _, a := range args {
		w.WriteByte('$')
		w.Write(strconv.AppendInt(num[:0], int64(len(a)), 10))
		w.WriteString("\r\n")
		w.WriteString(a)
		w.WriteString("\r\n")
	}
}

// redisCPU returns the CPU time the server has used (INFO cpu,
// used_cpu_user + used_cpu_sys), which a shared machine disturbs less than
// wall time.
func redisCPU(tb testing.TB, client goredis.UniversalClient) time.Duration {
	tb.Helper()
	info, err := client.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for line := range strings.Lines(info) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_user" || name == "used_cpu_sys" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				tb.Fatal(err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// processCPU returns the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func usedMemory(tb testing.TB, client goredis.UniversalClient) int64 {
	tb.Helper()
	info, err := client.Info(context.Background(), "memory").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("INFO memory has no used_memory")
	return 0
}
