package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/client"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/secret"
	"github.com/gatehouse/gatehouse/internal/statickey"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// The scale scenario: token-cc and api-appkey with 1,000 and with
// 1,000,000 registered clients and AppKeys, each size on a fresh database
// and a fresh server. Registering a million through the CLI would take
// hours (a process per client), so the tool writes them straight through
// the store, as the CLI would write them: client secrets and keys hashed
// with the master key's "secret-hash" key, as the server derives it, and
// keys in the statickey package's format. The load cycles through
// -scale-active credentials spread evenly over all registered ones.

// scaleCred is one credential the load presents.
type scaleCred struct {
	clientID, clientSecret string
	appKey                 string
}

func (r *runner) scale(ctx context.Context) error {
	backend := "sqlite"
	if r.o.DatabaseURL != "" {
		backend = "postgres"
	}
	var rows []scaleRow
	for _, n := range r.o.ScaleSizes {
		sr, err := r.scaleOne(ctx, backend, n)
		if err != nil {
			return fmt.Errorf("scale %s with %d registered: %w", backend, n, err)
		}
		rows = append(rows, sr)
		r.rep.Scale = append(r.rep.Scale, sr)
	}
	if len(rows) >= 2 {
		small, large := rows[0], rows[0]
		for _, sr := range rows {
			if sr.Registered < small.Registered {
				small = sr
			}
			if sr.Registered > large.Registered {
				large = sr
			}
		}
		for _, name := range r.o.ScaleScenarios {
			a, b := findRow(small.Rows, name), findRow(large.Rows, name)
			if a == nil || b == nil || !a.ok() || !b.ok() || a.RPS == 0 {
				continue
			}
			r.rep.ScaleRatio = append(r.rep.ScaleRatio, scaleRatio{Backend: backend, Scenario: name,
				Small: small.Registered, Large: large.Registered, Ratio: b.RPS / a.RPS})
		}
	}
	return nil
}

func findRow(rows []row, name string) *row {
	i := slices.IndexFunc(rows, func(r row) bool { return r.Scenario == name })
	if i < 0 {
		return nil
	}
	return &rows[i]
}

// scaleOne measures one size on a fresh database and server.
func (r *runner) scaleOne(ctx context.Context, backend string, n int) (scaleRow, error) {
	label := fmt.Sprintf("scale-%d", n)
	g, where, err := r.newGatehouse(ctx, label)
	if err != nil {
		return scaleRow{}, err
	}
	active := min(n, r.o.ScaleActive)
	sr := scaleRow{Backend: backend, Registered: n, Active: active}
	r.progress("scale: registering %d clients and %d AppKeys (%s)", n, n, where)
	start := time.Now()
	const team = "bench"
	if _, err := g.cli(ctx, "", "admin", "team", "create", team); err != nil {
		return sr, err
	}
	if _, err := g.cli(ctx, "", "admin", "app", "create", "--team", team, benchApp); err != nil {
		return sr, err
	}
	if _, err := g.cli(ctx, "", "admin", "permission", "grant", "--team", team, "--principal", "app:"+benchApp,
		"--action", "read", "--resource", "audit-log"); err != nil {
		return sr, err
	}
	creds, err := r.register(ctx, g, team, n, active)
	if err != nil {
		return sr, err
	}
	sr.Provision = time.Since(start).Seconds()
	r.progress("scale: registered in %s", time.Since(start).Round(time.Millisecond))

	srv, err := g.serve(ctx)
	if err != nil {
		return sr, err
	}
	defer srv.stop()
	r.started(srv.pid())
	sr.Startup = float64(srv.startup) / 1e6
	host := team + "." + benchDomain
	for _, name := range r.o.ScaleScenarios {
		reqs := make([][]byte, len(creds))
		for i, c := range creds {
			if name == scTokenCC {
				reqs[i] = tokenRequest(host, c.clientID, c.clientSecret)
			} else {
				reqs[i] = rawRequest("GET", host, r.o.APIPath, []string{"Authorization: AppKey " + c.appKey, "Accept: application/json"}, nil)
			}
		}
		sp := spec{addr: srv.addr, pid: srv.pid(), sources: cycleSources(reqs...)}
		if name == scTokenCC {
			sp.check = checkToken
		}
		sr.Rows = append(sr.Rows, r.measureAll(ctx, []string{name}, map[string]spec{name: sp})...)
	}
	sr.RSS, sr.PeakRSS, sr.MemoryKnown = processMemory(srv.pid())
	if err := srv.stop(); err != nil {
		return sr, err
	}
	if g.dataDir != "" && !r.o.Keep {
		os.RemoveAll(g.dataDir) // a million rows take room; the next size needs its own
	}
	return sr, nil
}

// register writes n clients and n AppKeys of app benchApp straight
// through the store, in transactions of -scale-batch records, and returns
// the credentials of active of them, spread evenly.
func (r *runner) register(ctx context.Context, g *gatehouse, team string, n, active int) ([]scaleCred, error) {
	st, err := sqlstore.Open(ctx, g.dbURL, filepath.Join(g.dataDir, "gatehouse.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	mk, err := masterkey.Load(g.masterKey, g.dataDir, g.dbURL != "")
	if err != nil {
		return nil, err
	}
	svc, err := compose.New(compose.Options{Store: st, MasterKey: mk}) // the server's hasher, keyed as it keys it
	if err != nil {
		return nil, err
	}
	hasher := svc.Hasher
	creds := make([]scaleCred, active)
	batch := r.o.ScaleBatch
	batches := (n + batch - 1) / batch
	writers := 1 // SQLite has one writer at a time
	if g.dbURL != "" {
		writers = 4
	}
	var (
		mu      sync.Mutex
		firstEr error
		done    int
		next    int
		wg      sync.WaitGroup
	)
	lastReport := time.Now()
	for range writers {
		wg.Go(func() {
			gen := secret.Generator{}
			for {
				mu.Lock()
				b := next
				next++
				stop := firstEr != nil || ctx.Err() != nil
				mu.Unlock()
				if stop || b >= batches {
					return
				}
				lo, hi := b*batch, min((b+1)*batch, n)
				err := st.Tx(ctx, func(q store.Queries) error {
					now := time.Now().UTC()
					for rec := lo; rec < hi; rec++ {
						c, sec, key, err := newScaleRecord(gen, hasher, team, rec, now)
						if err != nil {
							return err
						}
						if err := q.CreateClient(ctx, c); err != nil {
							return err
						}
						if err := q.CreateKey(ctx, key.StaticKey); err != nil {
							return err
						}
						if i, ok := activeIndex(rec, n, active); ok {
							creds[i] = scaleCred{clientID: c.ID, clientSecret: sec, appKey: key.full}
						}
					}
					return nil
				})
				mu.Lock()
				if err != nil && firstEr == nil {
					firstEr = err
				}
				done += hi - lo
				if time.Since(lastReport) > 10*time.Second {
					lastReport = time.Now()
					r.progress("scale: %d of %d registered", done, n)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstEr != nil {
		return nil, firstEr
	}
	return creds, ctx.Err()
}

// activeIndex reports whether record rec of n is one of the active ones,
// and which: the i-th active credential is record i*n/active.
func activeIndex(rec, n, active int) (int, bool) {
	i := (rec*active + n - 1) / n // the smallest i with i*n/active >= rec
	return i, i < active && i*n/active == rec
}

type scaleKey struct {
	store.StaticKey
	full string // the key as a caller sends it
}

// newScaleRecord makes record rec: a client_credentials client with
// client_secret_basic and the token scopes, and an AppKey of benchApp.
func newScaleRecord(gen secret.Generator, h *secret.Hasher, team string, rec int, now time.Time) (store.Client, string, scaleKey, error) {
	cid, err1 := gen.UUID()
	sid, err2 := gen.UUID()
	csec, err3 := gen.Token()
	kid, err4 := gen.UUID()
	ksec, err5 := gen.Token()
	for _, err := range []error{err1, err2, err3, err4, err5} {
		if err != nil {
			return store.Client{}, "", scaleKey{}, err
		}
	}
	c := store.Client{Team: team, ID: cid, Name: fmt.Sprintf("bench-%07d", rec), GrantTypes: []string{client.GrantClientCredentials},
		AuthMethod: client.AuthSecretBasic, Scopes: []string{"audit.log:read", "team.user-group-info:read"}, CreatedAt: now,
		Secrets: []store.ClientSecret{{ID: sid, Hash: h.Hash(csec.Reveal()), CreatedAt: now}}}
	k := scaleKey{
		StaticKey: store.StaticKey{Team: team, ID: kid, Kind: statickey.KindApp, Owner: benchApp,
			Hash: h.Hash(kid + ":" + ksec.Reveal()), CreatedAt: now}, // as statickey.Service.Create hashes it
		full: statickey.Format(kid, ksec.Reveal()),
	}
	return c, csec.Reveal(), k, nil
}
