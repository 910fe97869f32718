// Package config resolves Gatehouse's settings from four sources, in order
// of precedence: command-line flags, GATEHOUSE_* environment variables, an
// optional YAML file (--config FILE or GATEHOUSE_CONFIG), and defaults.
//
// Every setting has one name, used three ways: the flag (--access-token-ttl),
// the YAML key (access-token-ttl) and the environment variable, which is the
// name upper-cased with "-" turned into "_" behind a GATEHOUSE_ prefix
// (GATEHOUSE_ACCESS_TOKEN_TTL). Environment values are parsed by the flag's
// own parser, so "15m" means the same everywhere. Operator-defined OAuth
// scopes are the one exception: a list, they are set in the YAML file only.
//
// Every command sees the whole configuration: the environment and the file
// apply to every setting, whether or not the command shows its flag, so
// GATEHOUSE_SIGNING_ALG means the same to "gatehouse serve" and to
// "gatehouse admin team create".
//
// The command line uses the package in four steps:
//
//	cfg := config.Default()
//	config.Bind(root.PersistentFlags(), &cfg)  // data-dir, database-url, config, log-*
//	config.BindServe(serve.Flags(), &cfg)      // everything else
//	// then, in the command's RunE:
//	if err := config.Load(cmd.Flags(), &cfg, os.LookupEnv); err != nil { ... }
//	cfg.ApplyDev()
//	if err := cfg.Validate(); err != nil { ... }
package config
