package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEveryCommandHasHelp asks every command and every subcommand the top
// usage names for its help: it exits 0 on stdout without touching a
// database, spells every flag "--name", and lists each flag its synopsis
// mentions.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	singleDash := regexp.MustCompile(`(?m)^\s+-[a-z]`)
	mentioned := regexp.MustCompile(`--[a-z][a-z0-9-]*`)
	for _, c := range (&app{}).commands() {
		invocations := [][]string{{c.name, "--help"}}
		for _, sub := range subcommands(c) {
			invocations = append(invocations, []string{c.name, sub, "--help"}, []string{c.name, sub, "-h"})
		}
		for _, args := range invocations {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				r := run(t, e, args...)
				if r.code != exitOK || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage:") {
					t.Fatalf("want the help on stdout and exit 0, got %v", r)
				}
				if singleDash.MatchString(r.stdout) {
					t.Errorf("a flag is spelled with one dash:\n%s", r.stdout)
				}
				if len(args) == 3 || c.usage == "" {
					synopsis, flags, ok := strings.Cut(r.stdout, "\nFlags:\n")
					if !ok && c.name != "version" {
						t.Fatalf("no Flags section:\n%s", r.stdout)
					}
					if c.name != "version" && !strings.Contains(flags, "  --config FILE\n") {
						t.Errorf("--config is not listed:\n%s", r.stdout)
					}
					for _, f := range mentioned.FindAllString(synopsis, -1) {
						if !regexp.MustCompile(`(?m)^  ` + f + `( |$)`).MatchString(flags) {
							t.Errorf("the synopsis mentions %s, which the flags do not list:\n%s", f, r.stdout)
						}
					}
				}
			})
		}
	}
	if _, err := os.Stat(e.dbPath()); !os.IsNotExist(err) {
		t.Errorf("a help request opened the database: %v", err)
	}
}

// TestMisspelledFlag checks that a flag no command has is reported once,
// with the flag it most likely meant.
func TestMisspelledFlag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"swapped letters", []string{"clients", "create", "--nmae", "app"}, "clients create: unknown flag --nmae; did you mean --name?"},
		{"a missing letter", []string{"users", "list", "--email-prefx", "a"}, "users list: unknown flag --email-prefx; did you mean --email-prefix?"},
		{"one dash and a typo", []string{"keys", "list", "-outptu", "json"}, "keys list: unknown flag --outptu; did you mean --output?"},
		{"a flag of the value form", []string{"webhooks", "create", "--ulr=https://x.example"}, "webhooks create: unknown flag --ulr; did you mean --url?"},
		{"next to an id", []string{"clients", "get", "ID", "--outptu", "json"}, "--outptu is no flag: did you mean --output?"},
		{"nothing close", []string{"clients", "list", "--frobnicate"}, "clients list: unknown flag --frobnicate\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, e, tc.args...)
			if r.code != exitUsage || r.stdout != "" {
				t.Fatalf("want exit 2 and nothing on stdout, got %v", r)
			}
			if !strings.Contains(r.stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
			if n := strings.Count(r.stderr, "gatehouse:"); n != 1 {
				t.Errorf("the mistake is reported %d times:\n%s", n, r.stderr)
			}
			if strings.Contains(r.stderr, "Usage") || strings.Contains(r.stderr, "provided but not defined") {
				t.Errorf("stderr repeats the flag package's report:\n%s", r.stderr)
			}
		})
	}
	t.Run("a flag without its value names it with --", func(t *testing.T) {
		r := run(t, e, "clients", "list", "--output")
		if r.code != exitUsage || !strings.Contains(r.stderr, "flag needs an argument: --output") {
			t.Errorf("%v", r)
		}
	})
}

// TestTopUsageListsEverySubcommand reads the dispatchers in this package's
// source: every subcommand a command's function accepts (a case of its
// switch on args[0], or a comparison of args[0] or sub with a name) must be
// in that command's usage, and so in the top-level usage. A subcommand
// added to a switch without its usage line fails here.
func TestTopUsageListsEverySubcommand(t *testing.T) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	consts := map[string]string{}
	for _, entry := range entries {
		if !strings.HasSuffix(entry.Name(), ".go") || strings.HasSuffix(entry.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, entry.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, name := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			}
			return true
		})
	}

	cmds := (&app{}).commands()
	top := topUsage(cmds)
	checked := map[string]bool{}
	for _, f := range files {
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			subs, usages := dispatched(fn.Body, consts)
			if len(subs) == 0 || len(usages) != 1 {
				continue
			}
			i := slices.IndexFunc(cmds, func(c command) bool { return c.usage == consts[usages[0]] })
			if i < 0 {
				t.Errorf("%s dispatches subcommands with %s, which no command of the dispatcher has", fn.Name.Name, usages[0])
				continue
			}
			c := cmds[i]
			checked[c.name] = true
			listed := subcommands(c)
			for _, sub := range subs {
				if !slices.Contains(listed, sub) {
					t.Errorf("%s accepts %q, which %s does not list", fn.Name.Name, sub, usages[0])
				}
			}
			lines := strings.Split(top, "\n")
			j := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "  "+c.name+" ") })
			if j < 0 || j+1 >= len(lines) {
				t.Fatalf("the top-level usage has no line for %s:\n%s", c.name, top)
			}
			for _, sub := range listed {
				if !slices.Contains(strings.Split(strings.TrimSpace(lines[j+1]), ", "), sub) {
					t.Errorf("the top-level usage does not list %s %s:\n%s", c.name, sub, top)
				}
			}
		}
	}
	for _, c := range cmds {
		if c.usage != "" && !checked[c.name] {
			t.Errorf("found no dispatcher of %s's subcommands in the source", c.name)
		}
	}
}

// dispatched returns the names a function body compares args[0] or sub
// with (switch cases, == and !=), and the usage constants it refers to.
func dispatched(body *ast.BlockStmt, consts map[string]string) (subs, usages []string) {
	isSubject := func(e ast.Expr) bool {
		switch x := e.(type) {
		case *ast.IndexExpr:
			id, ok := x.X.(*ast.Ident)
			lit, isLit := x.Index.(*ast.BasicLit)
			return ok && id.Name == "args" && isLit && lit.Value == "0"
		case *ast.Ident:
			return x.Name == "sub"
		}
		return false
	}
	addLit := func(e ast.Expr) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && !slices.Contains(subs, s) {
				subs = append(subs, s)
			}
		}
	}
	ast.Inspect(body, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.SwitchStmt:
			if x.Tag != nil && isSubject(x.Tag) {
				for _, stmt := range x.Body.List {
					for _, e := range stmt.(*ast.CaseClause).List {
						addLit(e)
					}
				}
			}
		case *ast.BinaryExpr:
			if (x.Op == token.EQL || x.Op == token.NEQ) && isSubject(x.X) {
				addLit(x.Y)
			}
		case *ast.Ident:
			if _, ok := consts[x.Name]; ok && strings.HasSuffix(x.Name, "Usage") && !slices.Contains(usages, x.Name) {
				usages = append(usages, x.Name)
			}
		}
		return true
	})
	return subs, usages
}
