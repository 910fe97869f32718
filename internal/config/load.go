package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Load fills c from its sources, each overriding the one before: the YAML
// file named by --config or GATEHOUSE_CONFIG, then the GATEHOUSE_*
// environment variables (read with lookupEnv, which is os.LookupEnv outside
// tests), then the flags set on the command line. What no source sets keeps
// c's value, normally its default.
//
// fs is the command's parsed flag set, whose flags Bind and BindServe bound
// to this same c; only its changed flags count. The file and the
// environment apply to every setting, including those whose flags fs does
// not have. An unknown key in the file is an error; so is an environment
// value that the setting's flag would not accept, and the error names the
// variable. Load does not validate: call ApplyDev, then Validate.
func Load(fs *pflag.FlagSet, c *Config, lookupEnv func(string) (string, bool)) error {
	// every has a flag for every setting, bound to c, to parse environment
	// values exactly as the command line would.
	every := pflag.NewFlagSet("every", pflag.ContinueOnError)
	bindAll(every, c)

	// The command line wins, but the file is decoded over the same fields:
	// remember what the command line said, to say it again last.
	type changed struct {
		flag  *pflag.Flag
		value string
	}
	var cmdline []changed
	explicit := map[string]bool{}
	every.VisitAll(func(e *pflag.Flag) {
		if f := fs.Lookup(e.Name); f != nil && f.Changed {
			cmdline = append(cmdline, changed{f, f.Value.String()})
			explicit[e.Name] = true
		}
	})

	if !explicit["config"] {
		if v, ok := lookupEnv(EnvVar("config")); ok {
			c.File = v
			explicit["config"] = true
		}
	}
	if c.File != "" {
		keys, err := decodeFile(c.File, c)
		if err != nil {
			return err
		}
		for _, k := range keys {
			explicit[k] = true
		}
	}

	var errs []error
	every.VisitAll(func(e *pflag.Flag) {
		if e.Name == "config" {
			return // handled above
		}
		if f := fs.Lookup(e.Name); f != nil && f.Changed {
			return
		}
		name := EnvVar(e.Name)
		v, ok := lookupEnv(name)
		if !ok {
			return
		}
		if err := e.Value.Set(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		explicit[e.Name] = true
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}

	for _, s := range cmdline {
		// The value came from this flag's own String, so it parses.
		if err := s.flag.Value.Set(s.value); err != nil {
			return fmt.Errorf("--%s: %w", s.flag.Name, err)
		}
	}
	c.explicit = explicit
	return nil
}

// decodeFile decodes the YAML file at path over c and returns the keys it
// set. An empty file sets nothing.
func decodeFile(path string, c *Config) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config file %s: want one YAML document, found more", path)
	}

	// The first document decoded into c, so it is a mapping with string keys.
	var top map[string]yaml.Node
	if err := yaml.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	return keys, nil
}

// devListenHost is where --dev listens unless --listen is set.
const devListenHost = "127.0.0.1"

// ApplyDev derives what --dev implies:
// scheme http and domain localhost:<port of Listen>, so that
// http://<team>.localhost:<port> works in a browser and with curl with no
// DNS setup. It also moves the listener to loopback, 127.0.0.1 on the same
// port: a development server speaks plain HTTP and should not be reachable
// from the network unless asked to, with --listen :8080 for example.
//
// A setting that Load found in a flag, the environment or the file is kept
// as it is. Without Dev, ApplyDev does nothing.
func (c *Config) ApplyDev() {
	if !c.Dev {
		return
	}
	if !c.explicit["listen"] {
		if _, port, err := net.SplitHostPort(c.Listen); err == nil {
			c.Listen = net.JoinHostPort(devListenHost, port)
		}
	}
	if !c.explicit["scheme"] {
		c.Scheme = "http"
	}
	if !c.explicit["domain"] {
		if _, port, err := net.SplitHostPort(c.Listen); err == nil && port != "" {
			c.Domain = net.JoinHostPort("localhost", port)
		}
	}
	// No load balancer waits on a development server: Ctrl-C stops it at
	// once.
	if !c.explicit["lame-duck"] {
		c.LameDuck = 0
	}
}
