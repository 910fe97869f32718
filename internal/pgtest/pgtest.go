// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server is GATEHOUSE_TEST_DATABASE_URL, by default the development and
// CI machines' postgres://postgres@127.0.0.1:5432/test. When it does not
// answer, a test fails under CI=true and is skipped, with the reason,
// otherwise.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the test server of every development and CI machine.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

func serverURL() string {
	if u := os.Getenv("GATEHOUSE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// URL creates an empty database for t, dropped when t ends, and returns
// its connection URL.
func URL(t testing.TB) string {
	t.Helper()
	base := serverURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required under CI=true: %v", base, err)
		}
		t.Skipf("PostgreSQL at %s does not answer (%v); set GATEHOUSE_TEST_DATABASE_URL or start it; CI=true makes this a failure", base, err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	name := "gatehouse_test_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("bad GATEHOUSE_TEST_DATABASE_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
