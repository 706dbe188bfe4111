// Command gatehouse is the Gatehouse identity server and its administration
// tool.
//
//	gatehouse serve                 start the server
//	gatehouse migrate               create or upgrade the database schema
//	gatehouse version               print the version
//	gatehouse clients create|list|get|delete|rotate-secret
//	gatehouse keys list|rotate|retire
//	gatehouse users create|list|get|delete
//	gatehouse registration-tokens create|list|delete
//	gatehouse events export
//	gatehouse webhooks create|list|get|update|delete|deliveries|replay|ping|rotate-secret
//	gatehouse import users FILE
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

	"github.com/gatehouse-id/gatehouse/pkg/events"
	"github.com/gatehouse-id/gatehouse/storage"
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
	a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv}
	os.Exit(a.run(context.Background(), os.Args[1:]))
}

// app is one invocation of the command, with its outside world explicit so
// tests can run it in-process.
type app struct {
	// stdin is read by `import users -`; nil in tests that give none.
	stdin     io.Reader
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
  gatehouse clients  create|list|get|delete|rotate-secret [flags]
  gatehouse keys     list|rotate|retire [flags]
  gatehouse users    create|list|get|delete|import|export [flags]
  gatehouse registration-tokens create|list|delete [flags]
  gatehouse events   export [flags]         the audit log as JSON lines
  gatehouse webhooks create|list|get|update|delete|deliveries|replay|ping|rotate-secret [flags]
  gatehouse import   users FILE [flags]     the same as "users import FILE" (docs/import.md)

Run "gatehouse COMMAND --help" for a command's flags.
Configuration: docs/configuration.md. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
`

func (a *app) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usage)
		return exitUsage
	}
	var err error
	// What a command changes is the operator's doing (the audit log's actor).
	opCtx := events.WithActor(ctx, storage.Actor{Type: storage.ActorOperator})
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		err = a.serve(ctx, rest)
	case "migrate":
		err = a.migrate(ctx, rest)
	case "version", "--version":
		err = a.printVersion(rest)
	case "clients":
		err = a.clients(opCtx, rest)
	case "keys":
		err = a.keys(opCtx, rest)
	case "users":
		err = a.users(opCtx, rest)
	case "registration-tokens":
		err = a.registrationTokens(opCtx, rest)
	case "events":
		err = a.events(opCtx, rest)
	case "webhooks":
		err = a.webhooks(opCtx, rest)
	case "import":
		err = a.importCmd(opCtx, rest)
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
	return parseArgs(fs, args, false)
}

// parseFlagsAndIDs is parseFlags for commands whose positional arguments are
// ids. Client ids and kids are base64url, so one in 64 starts with "-": an
// argument that starts with "-" but names no flag of fs is taken as an id
// instead of being refused as an undefined flag.
func parseFlagsAndIDs(fs *flag.FlagSet, args []string) ([]string, error) {
	return parseArgs(fs, args, true)
}

// parseNoArgs parses the flags of a command that takes no other argument.
func parseNoArgs(fs *flag.FlagSet, args []string) error {
	positional, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(positional) > 0 {
		return usagef("%s takes no arguments (got %q)", strings.TrimPrefix(fs.Name(), "gatehouse "), positional)
	}
	return nil
}

// parseOneID parses the flags and exactly one id, which the usage error
// names idName ("clients get takes one CLIENT_ID").
func parseOneID(fs *flag.FlagSet, args []string, idName string) (string, error) {
	positional, err := parseFlagsAndIDs(fs, args)
	if err != nil {
		return "", err
	}
	if len(positional) != 1 {
		return "", usagef("%s takes one %s (got %q)", strings.TrimPrefix(fs.Name(), "gatehouse "), idName, positional)
	}
	return positional[0], nil
}

func parseArgs(fs *flag.FlagSet, args []string, ids bool) ([]string, error) {
	var positional []string
	for {
		if i := undefinedFlag(fs, args); ids && i >= 0 {
			// Parse the flags before it, which are all defined, then take it
			// as an id.
			if err := fs.Parse(args[:i]); err != nil {
				return nil, flagError(err)
			}
			positional = append(positional, args[i])
			args = args[i+1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			return nil, flagError(err)
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

func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &usageError{err.Error()}
}

// undefinedFlag returns the index of the argument at which fs.Parse(args)
// would fail because it names no flag of fs, or -1. Like fs.Parse, it stops
// at the first argument that is not a flag, and skips the value of a flag
// that takes one.
func undefinedFlag(fs *flag.FlagSet, args []string) int {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' || a == "--" {
			return -1
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		switch {
		case f == nil && (name == "h" || name == "help"):
			return -1 // fs.Parse reports flag.ErrHelp
		case f == nil:
			return i
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !hasValue && !(ok && b.IsBoolFlag()) {
			i++ // the flag's value
		}
	}
	return -1
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string { return strings.Join(*s, ",") }

func (s *stringList) Set(v string) error {
	*s = append(*s, v)
	return nil
}
