package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// probeSQL rewrites the one row of the probe table.
const probeSQL = `INSERT INTO probe (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at`

// prober is a dialect with a probe of its own (SQLite's).
type prober interface {
	probe(ctx context.Context, db *sql.DB, now time.Time) error
}

// Probe checks that the database accepts writes: it rewrites the probe
// table's one row (store.Store).
func (s *DB) Probe(ctx context.Context) (err error) {
	ctx, end := s.op(ctx)
	defer end(&err)
	if p, ok := s.d.(prober); ok {
		err = p.probe(ctx, s.db, s.now())
	} else {
		_, err = s.db.ExecContext(ctx, probeSQL, ts(s.now()))
	}
	if err != nil {
		return s.fail("write probe", err)
	}
	return nil
}
