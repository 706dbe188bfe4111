// Command gatehouse is the Gatehouse identity server and its administration
// tool.
//
//	gatehouse serve                 start the server
//	gatehouse migrate               create or upgrade the database schema
//	gatehouse version               print the version
//	gatehouse clients|keys|users|registration-tokens|events|webhooks|import|roles SUBCOMMAND
//
// "gatehouse --help" lists every command and subcommand (from the
// commands table), "gatehouse COMMAND --help" a command's subcommands, and
// "gatehouse COMMAND SUBCOMMAND --help" its flags.
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

// command is one of gatehouse's commands, as the dispatcher runs it and the
// top-level usage lists it.
type command struct {
	// name is the first argument that selects the command.
	name string
	// summary says in a few words what the command is for.
	summary string
	// usage is the command's own usage, whose "gatehouse NAME SUB" lines
	// name its subcommands; "" for a command without subcommands.
	usage string
	// run runs the command with the arguments after its name.
	run func(ctx context.Context, args []string) error
}

// commands are gatehouse's commands in the order the usage lists them. A
// new command is one entry here: the dispatcher, the top-level usage and
// "gatehouse NAME --help" all read this list.
func (a *app) commands() []command {
	return []command{
		{name: "serve", summary: "start the server", run: a.serve},
		{name: "migrate", summary: "create or upgrade the database schema", run: a.migrate},
		{name: "version", summary: "print the version", run: func(_ context.Context, args []string) error { return a.printVersion(args) }},
		{name: "clients", summary: "OAuth clients (apps)", usage: clientsUsage, run: operator(a.clients)},
		{name: "keys", summary: "signing keys", usage: keysUsage, run: operator(a.keys)},
		{name: "users", summary: "customers", usage: usersUsage, run: operator(a.users)},
		{name: "registration-tokens", summary: "initial access tokens for client registration", usage: registrationTokensUsage, run: operator(a.registrationTokens)},
		{name: "events", summary: "the audit log as JSON lines", usage: eventsUsage, run: operator(a.events)},
		{name: "webhooks", summary: "webhook subscriptions", usage: webhooksUsage, run: operator(a.webhooks)},
		{name: "import", summary: "import customers from JSON Lines (docs/import.md)", usage: importUsage, run: operator(a.importCmd)},
		{name: "roles", summary: "roles for the roles claim (docs/roles.md)", usage: rolesUsage, run: operator(a.roles)},
	}
}

// operator runs a command whose changes are the operator's doing (the
// audit log's actor).
func operator(run func(context.Context, []string) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		return run(events.WithActor(ctx, storage.Actor{Type: storage.ActorOperator}), args)
	}
}

func (a *app) run(ctx context.Context, args []string) int {
	cmds := a.commands()
	if len(args) == 0 {
		fmt.Fprint(a.stderr, topUsage(cmds))
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "help", "-h", "--help":
		// "gatehouse help clients" is "gatehouse clients --help".
		if len(rest) == 0 {
			fmt.Fprint(a.stdout, topUsage(cmds))
			return exitOK
		}
		cmd, rest = rest[0], []string{"--help"}
	case "--version":
		cmd = "version"
	}
	for _, c := range cmds {
		if c.name != cmd {
			continue
		}
		if c.usage != "" && len(rest) > 0 && isHelpArg(rest[0]) {
			fmt.Fprint(a.stdout, groupHelp(c))
			return exitOK
		}
		return a.exitCode(c.run(ctx, rest))
	}
	return a.exitCode(usagef("unknown command %q\n\n%s", cmd, topUsage(cmds)))
}

func (a *app) exitCode(err error) int {
	var ue *usageError
	var ce *configError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		var he *helpError
		if errors.As(err, &he) {
			fmt.Fprint(a.stdout, flagHelp(he.fs, a.commands()))
		}
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

// newFlagSet returns a flag set for a subcommand that reports errors
// instead of exiting. It prints nothing itself: parseFlags returns a
// mistake as one usage error (with a suggestion for a misspelled flag),
// and a request for help, which exitCode prints on stdout with every flag
// spelled with "--".
func (a *app) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("gatehouse "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
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
		return "", usagef("%s takes one %s (got %q)%s", strings.TrimPrefix(fs.Name(), "gatehouse "), idName, positional, misspelledFlags(fs, positional))
	}
	return positional[0], nil
}

func parseArgs(fs *flag.FlagSet, args []string, ids bool) ([]string, error) {
	var positional []string
	for {
		if i := undefinedFlag(fs, args); i >= 0 {
			if !ids {
				return nil, unknownFlag(fs, args[i])
			}
			// Parse the flags before it, which are all defined, then take it
			// as an id.
			if err := fs.Parse(args[:i]); err != nil {
				return nil, flagError(fs, err)
			}
			positional = append(positional, args[i])
			args = args[i+1:]
			continue
		}
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, err)
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

// flagError turns what fs.Parse returned into a request for fs's help or a
// usage error that spells flags with "--".
func flagError(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return &helpError{fs: fs}
	}
	return usagef("%s: %s\nRun \"%s --help\" for its flags.", strings.TrimPrefix(fs.Name(), "gatehouse "), dashDash(err.Error()), fs.Name())
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
