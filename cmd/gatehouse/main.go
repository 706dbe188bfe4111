// Command gatehouse is the Gatehouse identity server and its administration
// tool.
//
//	gatehouse serve                 start the server
//	gatehouse migrate               create or upgrade the database schema
//	gatehouse version               print the version
//	gatehouse clients create|list|get|delete
//	gatehouse keys list|rotate|retire
//
// Every command reads the same configuration: defaults, then the YAML file
// given with --config, then GATEHOUSE_* environment variables. Exit codes:
// 0 success, 1 failure, 2 bad usage or configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	a := &app{stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}
	os.Exit(a.run(context.Background(), os.Args[1:]))
}

// app is one invocation of the command, with its outside world explicit so
// tests can run it in-process.
type app struct {
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
}

// usageError is a mistake in the command line; it exits with code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// configError is an invalid setting; it exits with code 2.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

const usage = `Gatehouse, the customer identity server.

Usage:
  gatehouse serve    [--config FILE]      start the server
  gatehouse migrate  [--config FILE]      create or upgrade the database schema
  gatehouse version                       print the version
  gatehouse clients  create|list|get|delete [flags]
  gatehouse keys     list|rotate|retire [flags]

Run "gatehouse COMMAND --help" for a command's flags.
Configuration: docs/configuration.md. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
`

func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = a.serve(ctx, rest)
	case "migrate":
		err = a.migrate(ctx, rest)
	case "version", "--version":
		err = a.printVersion(rest)
	case "clients":
		err = a.clients(ctx, rest)
	case "keys":
		err = a.keys(ctx, rest)
	case "help", "-h", "--help":
		fmt.Fprint(a.stdout, usage)
		return exitOK
	default:
		err = usagef("unknown command %q\n\n%s", cmd, usage)
	}
	return a.exitCode(err)
}

func (a *app) exitCode(err error) int {
	var ue *usageError
	var ce *configError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(a.stderr, "gatehouse:", ue.msg)
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintln(a.stderr, "gatehouse: invalid configuration:", ce.err)
		return exitUsage
	default:
		fmt.Fprintln(a.stderr, "gatehouse:", err)
		return exitError
	}
}

// newFlagSet returns a flag set for a subcommand that writes its help to
// stderr and reports errors instead of exiting.
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	return fs
}

// parseFlags parses flags and positional arguments in any order
// ("clients get ID --output json" as well as "clients get --output json ID").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
