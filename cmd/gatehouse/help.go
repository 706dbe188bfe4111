package main

import (
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// helpError is a request for a command's help ("--help" or "-h"): the
// flag parser returns it, and exitCode prints fs's help on stdout and exits
// 0. It is flag.ErrHelp to errors.Is.
type helpError struct{ fs *flag.FlagSet }

func (e *helpError) Error() string { return flag.ErrHelp.Error() }
func (e *helpError) Unwrap() error { return flag.ErrHelp }

// isHelpArg reports whether arg asks for help.
func isHelpArg(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

// topUsage is the usage of gatehouse itself: every command, and for each
// command with subcommands every one of them, read from the command's own
// usage so that a new subcommand is listed once it is documented there.
func topUsage(cmds []command) string {
	var b strings.Builder
	b.WriteString("Gatehouse, the customer identity server.\n\nUsage:\n  gatehouse COMMAND [SUBCOMMAND] [flags]\n\nCommands:\n")
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, c.name, c.summary)
		if subs := subcommands(c); len(subs) > 0 {
			fmt.Fprintf(&b, "  %-*s    %s\n", width, "", strings.Join(subs, ", "))
		}
	}
	b.WriteString(`
Run "gatehouse COMMAND --help" for a command's subcommands and
"gatehouse COMMAND SUBCOMMAND --help" for a subcommand's flags.
Configuration: docs/configuration.md. Exit codes: 0 ok, 1 failure, 2 bad usage or configuration.
`)
	return b.String()
}

// subcommands are the subcommands a command's usage names, in its order:
// the word after "gatehouse NAME" on each of its lines.
func subcommands(c command) []string {
	var subs []string
	prefix := "gatehouse " + c.name + " "
	for _, line := range strings.Split(c.usage, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
		if !ok {
			continue
		}
		if sub, _, _ := strings.Cut(strings.TrimSpace(rest), " "); sub != "" && !slices.Contains(subs, sub) {
			subs = append(subs, sub)
		}
	}
	return subs
}

// groupHelp is the help of a command with subcommands.
func groupHelp(c command) string {
	return c.usage + "\nRun \"gatehouse " + c.name + " SUBCOMMAND --help\" for a subcommand's flags.\n"
}

// flagHelp is the help of one (sub)command: its lines of its command's
// usage, when there are any, then every flag, spelled "--name".
func flagHelp(fs *flag.FlagSet, cmds []command) string {
	var b strings.Builder
	synopsis := synopsisOf(fs.Name(), cmds)
	if synopsis == "" {
		synopsis = "  " + fs.Name() + " [flags]\n"
	}
	b.WriteString("Usage:\n" + synopsis)
	var flags strings.Builder
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(&flags, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(&flags, " %s", name)
		}
		fmt.Fprintf(&flags, "\n        %s", usage)
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "[]" {
			fmt.Fprintf(&flags, " (default %q)", d)
		}
		flags.WriteString("\n")
	})
	if flags.Len() > 0 {
		b.WriteString("\nFlags:\n" + flags.String())
	}
	return b.String()
}

// synopsisOf returns the lines of a command's usage that describe the
// subcommand named full ("gatehouse clients create"), with their
// continuation lines, or "".
func synopsisOf(full string, cmds []command) string {
	for _, c := range cmds {
		if c.usage == "" || !strings.HasPrefix(full, "gatehouse "+c.name+" ") {
			continue
		}
		var b strings.Builder
		in := false
		for _, line := range strings.Split(c.usage, "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case trimmed == full || strings.HasPrefix(trimmed, full+" "):
				in = true
			case strings.HasPrefix(trimmed, "gatehouse ") || trimmed == "" || !strings.HasPrefix(line, "   "):
				in = false
			}
			if in {
				b.WriteString(line + "\n")
			}
		}
		return b.String()
	}
	return ""
}

// unknownFlag is the usage error for arg, which names no flag of fs, with
// the closest flag's name when one is close.
func unknownFlag(fs *flag.FlagSet, arg string) error {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	msg := fmt.Sprintf("%s: unknown flag --%s", strings.TrimPrefix(fs.Name(), "gatehouse "), name)
	if s := suggestFlag(fs, name); s != "" {
		msg += fmt.Sprintf("; did you mean --%s?", s)
	}
	return usagef("%s\nRun \"%s --help\" for its flags.", msg, fs.Name())
}

// suggestFlag returns the name of fs's flag closest to name in edit
// distance, if it is close enough to be a likely misspelling, else "".
func suggestFlag(fs *flag.FlagSet, name string) string {
	best, bestDist := "", 0
	fs.VisitAll(func(f *flag.Flag) {
		d := levenshtein.ComputeDistance(strings.ToLower(name), f.Name)
		if best == "" || d < bestDist {
			best, bestDist = f.Name, d
		}
	})
	// Two edits (a swapped pair of letters, a missing hyphen and a typo),
	// or a third of a longer name; never a whole short name.
	if best == "" || bestDist > max(2, len(name)/3) || bestDist >= len(name) {
		return ""
	}
	return best
}

// misspelledFlags is the hint, for positional arguments of a command that
// takes ids, that an argument taken as an id looks like a misspelled flag.
func misspelledFlags(fs *flag.FlagSet, positional []string) string {
	var hints []string
	for _, arg := range positional {
		if !strings.HasPrefix(arg, "-") {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if s := suggestFlag(fs, name); s != "" {
			hints = append(hints, fmt.Sprintf("; %s is no flag: did you mean --%s?", arg, s))
		}
	}
	return strings.Join(hints, "")
}

// dashDash rewrites the flag package's messages, which spell a flag "-name",
// to this command's spelling, "--name".
func dashDash(msg string) string {
	for _, before := range []string{"flag -", "argument: -", "for -"} {
		msg = strings.Replace(msg, before, before+"-", 1)
	}
	return msg
}
