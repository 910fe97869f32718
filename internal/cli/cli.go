// Package cli is the gatehouse command line (README "Command line"):
// cobra commands that parse their arguments, call the domain services and
// print the result, as JSON with --json.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/compose"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/logbuf"
	"github.com/gatehouse/gatehouse/internal/masterkey"
	"github.com/gatehouse/gatehouse/internal/store/sqlstore"
)

// Streams are the command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3";
// otherwise it comes from the module's build info.
var Version = ""

// Main runs the command line and returns the exit code: 0 on success, 1 on
// any error (printed as one line on stderr), 2 on a usage error.
func Main(ctx context.Context, args []string, s Streams, lookupEnv func(string) (string, bool)) int {
	a := &app{streams: s, lookupEnv: lookupEnv, cfg: config.Default()}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	err := root.ExecuteContext(ctx)
	if a.logBuf != nil {
		a.logBuf.Flush() // whatever serve logged, however it ended
	}
	if err != nil {
		fmt.Fprintln(s.Err, "gatehouse: "+oneLine(err))
		var u usageError
		if errors.As(err, &u) {
			return 2
		}
		return 1
	}
	return 0
}

// usageError marks errors in how the command was called.
type usageError struct{ error }

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

// app is the state of one invocation.
type app struct {
	streams   Streams
	lookupEnv func(string) (string, bool)
	cfg       config.Config
	json      bool
	url       string         // the admin commands' --url: remote mode
	routes    []authz.Route  // what a local migration's client may need
	logBuf    *logbuf.Writer // serve's buffered log output
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "gatehouse",
		Short:         "Gatehouse authenticates and authorizes every call to a multi-tenant platform's APIs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	// Cobra reports a missing required flag as a plain error, after the
	// persistent pre-run: check it here first, as the usage error it is.
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return usageError{err}
		}
		return nil
	}
	config.Bind(root.PersistentFlags(), &a.cfg)
	root.AddCommand(a.versionCommand(), a.migrateCommand(), a.serveCommand(), a.adminCommand())
	groups(root)
	return root
}

// groups makes every command that only holds subcommands print its help
// when called alone and answer a usage error for an unknown subcommand:
// left to cobra, "gatehouse admin user creat ..." prints the help and exits
// 0, so a typo in a script would pass for success.
func groups(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		groups(c)
	}
	if !cmd.HasSubCommands() || cmd.Runnable() {
		return
	}
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], commandPath(cmd))
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return usageError{errors.New(msg)}
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
}

// load resolves the configuration for cmd and validates it.
func (a *app) load(cmd *cobra.Command) error {
	if err := config.Load(cmd.Flags(), &a.cfg, a.lookupEnv); err != nil {
		return err
	}
	a.cfg.ApplyDev()
	return a.cfg.Validate()
}

// logger logs at the configured level; commands other than serve print
// what they did themselves, so they log warnings and errors only.
func (a *app) logger(cmd *cobra.Command) *slog.Logger {
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[a.cfg.LogLevel]
	if cmd.Name() != "serve" {
		level = max(level, slog.LevelWarn)
	}
	opts := &slog.HandlerOptions{Level: level}
	var out io.Writer = a.streams.Err
	if cmd.Name() == "serve" {
		// A line per request: buffered, written every logbuf.Interval and
		// on shutdown (serve runs the flusher).
		a.logBuf = logbuf.New(a.streams.Err)
		out = a.logBuf
	}
	if a.cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(out, opts))
	}
	return slog.New(slog.NewTextHandler(out, opts))
}

// env is what commands that touch the database share: the services
// built by compose, exactly as the server builds them.
type env struct {
	*compose.Services
}

// open loads the master key and opens the database. Only migrate and serve
// (create) may make a new installation: they generate the master key on
// first need (for SQLite) and create or migrate the database. Every other
// command opens an installation that exists, with its schema current, and
// otherwise fails naming what is missing, creating nothing: run from the
// wrong directory, it must not start an empty installation of its own.
func (a *app) open(cmd *cobra.Command, create, serve bool) (*env, error) {
	ctx := cmd.Context()
	envKey, _ := a.lookupEnv(masterkey.EnvVar)
	dbPath := filepath.Join(a.cfg.DataDir, "gatehouse.db")
	log := a.logger(cmd)
	var (
		key masterkey.Key
		st  *sqlstore.DB
		err error
	)
	if create {
		if key, err = masterkey.Load(envKey, a.cfg.DataDir, a.cfg.DatabaseURL != ""); err != nil {
			return nil, err
		}
		st, err = sqlstore.Open(ctx, a.cfg.DatabaseURL, dbPath, log)
	} else {
		if a.cfg.DatabaseURL == "" {
			// The database first: a missing one is the likelier mistake
			// (another directory, a mistyped --data-dir), and its path says
			// so.
			if _, serr := os.Stat(dbPath); errors.Is(serr, fs.ErrNotExist) {
				return nil, noDatabase(dbPath)
			}
		}
		if key, err = masterkey.LoadExisting(envKey, a.cfg.DataDir, a.cfg.DatabaseURL != ""); err != nil {
			return nil, err
		}
		st, err = sqlstore.OpenExisting(ctx, a.cfg.DatabaseURL, dbPath, log)
	}
	if err != nil {
		return nil, err
	}
	svc, err := compose.New(compose.Options{Config: a.cfg, Store: st, MasterKey: key, Log: log, AuditSpool: serve})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &env{svc}, nil
}

func noDatabase(path string) error {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return fmt.Errorf(`no database at %s: run "gatehouse migrate" or "gatehouse serve" first, or pass --data-dir`, path)
}

func (e *env) close() { e.Store.Close() }

// withEnv wraps a command body that needs an existing database.
func (a *app) withEnv(fn func(cmd *cobra.Command, e *env, args []string) error) func(*cobra.Command, []string) error {
	return a.withEnvCreating(false, fn)
}

// withNewEnv wraps the body of migrate, which may create the database and
// the master key.
func (a *app) withNewEnv(fn func(cmd *cobra.Command, e *env, args []string) error) func(*cobra.Command, []string) error {
	return a.withEnvCreating(true, fn)
}

// withServeEnv wraps the body of serve: withNewEnv, with the audit trail
// open on its spool.
func (a *app) withServeEnv(fn func(cmd *cobra.Command, e *env, args []string) error) func(*cobra.Command, []string) error {
	return a.withEnvOpts(true, true, fn)
}

func (a *app) withEnvCreating(create bool, fn func(cmd *cobra.Command, e *env, args []string) error) func(*cobra.Command, []string) error {
	return a.withEnvOpts(create, false, fn)
}

func (a *app) withEnvOpts(create, serve bool, fn func(cmd *cobra.Command, e *env, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := a.load(cmd); err != nil {
			return err
		}
		e, err := a.open(cmd, create, serve)
		if err != nil {
			return err
		}
		defer e.close()
		return fn(cmd, e, args)
	}
}

// print writes v as JSON with --json, else text.
func (a *app) print(v any, text func(w io.Writer)) error {
	if a.json {
		enc := json.NewEncoder(a.streams.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(a.streams.Out)
	return nil
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(a.streams.Out, "gatehouse "+version())
			return nil
		},
	}
}

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema (serve also does this on start)",
		Args:  noArgs,
		RunE: a.withNewEnv(func(cmd *cobra.Command, e *env, _ []string) error {
			if err := e.Store.Check(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(a.streams.Out, "database (%s) is up to date\n", e.Store.Dialect())
			return nil
		}),
	}
}

// commandPath is the command's path without the root's name, which every
// error line already starts with ("gatehouse: admin client show ...").
func commandPath(cmd *cobra.Command) string {
	if !cmd.HasParent() {
		return cmd.Name()
	}
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// noArgs is cobra.NoArgs as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", commandPath(cmd), args[0])}
	}
	return nil
}

// exactArgs is cobra.ExactArgs as a usage error naming the arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			plural := "s"
			if len(names) == 1 {
				plural = ""
			}
			return usageError{fmt.Errorf("%s takes %d argument%s: %s", commandPath(cmd), len(names), plural, strings.Join(names, " "))}
		}
		return nil
	}
}
