package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/ownerhub/ownerhub/graph/generated"
	"github.com/ownerhub/ownerhub/models"
	"github.com/ownerhub/ownerhub/models/demo"
)

// The README's tour of the API is a script: its ```graphql blocks, in
// order, run against a fresh demo server. Comments in a block say how:
//
//	# as manager.sz01    the operations below run as this account: a staff
//	                     username (signed in with staffLogin and the demo
//	                     password) or an owner's phone number (the session
//	                     the tour's own verifyLoginCode opened for it)
//	# expect CODE ...    the next operation is refused with CODE, and the
//	                     text says why
//	# needs ...          the next operation is not run: it needs what the
//	                     text says (a payment provider); it is validated
//
// Subscriptions run over graphql-transport-ws and give their first result.
//
// A string "<Type field>" stands for that field of that type in an earlier
// answer (the latest answer that has one, its first), "<VALUE Type field>"
// for the field of the first such object with a field equal to VALUE
// ("<PENDING RepairOrderItem id>"); "<today>", "<yesterday>" and
// "<today+N>" for dates in China.

const tourFile = "../README.md"

// tourOp is one operation of the tour.
type tourOp struct {
	Name, Kind string
	Text       string // the operation, without the tour's comments
	As         string // the account, "" for none
	Expect     string // the code it is refused with, if any
	Needs      string // why it is not run, if so
	Line       int    // in README.md
}

var (
	tourStartRE = regexp.MustCompile(`^(query|mutation|subscription) ([A-Za-z][A-Za-z0-9]*)\b`)
	tourAsRE    = regexp.MustCompile(`^# as (\S+)`)
	tourExpRE   = regexp.MustCompile(`^# expect ([A-Z][A-Z0-9_]*)\b`)
	tourNeedsRE = regexp.MustCompile(`^# needs (.+)`)
)

// readTour reads the operations of the README's tour section.
func readTour(t testing.TB) []tourOp {
	t.Helper()
	raw, err := os.ReadFile(tourFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	var ops []tourOp
	var inTour, inBlock bool
	var as, expect, needs string
	var cur *tourOp
	flush := func() {
		if cur != nil {
			cur.Text = strings.TrimRight(cur.Text, "\n ") + "\n"
			ops = append(ops, *cur)
			cur = nil
		}
	}
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "## "):
			inTour = line == "## A tour of the API"
			continue
		case !inTour:
			continue
		case !inBlock && line == "```graphql":
			inBlock = true
			continue
		case inBlock && line == "```":
			flush()
			inBlock = false
			continue
		case !inBlock:
			continue
		}
		if m := tourAsRE.FindStringSubmatch(line); m != nil {
			flush()
			as = m[1]
			continue
		}
		if m := tourExpRE.FindStringSubmatch(line); m != nil {
			flush()
			expect = m[1]
			continue
		}
		if m := tourNeedsRE.FindStringSubmatch(line); m != nil {
			flush()
			needs = m[1]
			continue
		}
		if m := tourStartRE.FindStringSubmatch(line); m != nil {
			flush()
			cur = &tourOp{Kind: m[1], Name: m[2], As: as, Expect: expect, Needs: needs, Line: i + 1}
			expect, needs = "", ""
		}
		if cur == nil {
			if strings.TrimSpace(line) != "" {
				t.Fatalf("README.md:%d: not in a named operation (start each with `query Name`, `mutation Name` or `subscription Name`): %s", i+1, line)
			}
			continue
		}
		cur.Text += line + "\n"
	}
	if len(ops) == 0 {
		t.Fatal("no operations in the README's tour")
	}
	return ops
}

var tourSchema = generated.NewExecutableSchema(generated.Config{}).Schema()

// Every operation of the tour is named, unique and valid against the schema.
func TestTourOperationsValid(t *testing.T) {
	seen := map[string]int{}
	for _, op := range readTour(t) {
		if l, dup := seen[op.Name]; dup {
			t.Errorf("README.md:%d: operation %s is named at line %d already", op.Line, op.Name, l)
		}
		seen[op.Name] = op.Line
		doc, errs := gqlparser.LoadQueryWithRules(tourSchema, op.Text, nil)
		if errs != nil {
			t.Errorf("README.md:%d: %s: %v", op.Line, op.Name, errs)
			continue
		}
		if len(doc.Operations) != 1 {
			t.Errorf("README.md:%d: %s holds %d operations", op.Line, op.Name, len(doc.Operations))
		}
	}
}

var updateOperations = flag.Bool("update-operations", false, "rewrite clients/typescript/operations/*.graphql from the README's tour")

const operationsDir = "../clients/typescript/operations"

// The TypeScript client's documents are the tour's operations, one file per
// operation: a change to the README without extracting them again (or an
// edited file) fails here. Run with -update-operations to rewrite them.
func TestTypeScriptOperationsMatchReadme(t *testing.T) {
	want := map[string]string{}
	for _, op := range readTour(t) {
		want[op.Name+".graphql"] = op.Text
	}
	if *updateOperations {
		old, _ := filepath.Glob(filepath.Join(operationsDir, "*.graphql"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(operationsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(operationsDir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	have, _ := filepath.Glob(filepath.Join(operationsDir, "*.graphql"))
	const fix = "extract them again: go test ./server -run TestTypeScriptOperationsMatchReadme -update-operations"
	for _, f := range have {
		name := filepath.Base(f)
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[name]; !ok {
			t.Errorf("%s is no operation of the README's tour; %s", name, fix)
		} else if string(got) != w {
			t.Errorf("%s differs from the README's tour; %s", name, fix)
		}
		delete(want, name)
	}
	for name := range want {
		t.Errorf("%s is missing; %s", name, fix)
	}
}

// The tour works on a fresh demo server, whatever the day: every operation
// answers without errors or userErrors, except the refusals it announces.
func TestReadmeTour(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server of its own")
	}
	env := freshEnv(t, nil)
	if onPostgres() {
		// As the README says for PostgreSQL: seed, then serve.
		if _, _, err := runOnce(t, env, "seed"); err != nil {
			t.Fatal(err)
		}
	}
	s := startServe(t, env)
	tour := &tourRun{t: t, base: s.base, tokens: map[string]string{}}
	ran, validated := 0, 0
	for _, op := range readTour(t) {
		if op.Needs != "" {
			validated++
			continue
		}
		tour.run(op)
		ran++
	}
	t.Logf("ran %d operations of the README's tour; %d more (needing a payment provider) only validated", ran, validated)
	if ran < 25 {
		t.Errorf("only %d operations ran", ran)
	}
}

// tourRun is the tour's state: the values of earlier answers and the
// sessions opened.
type tourRun struct {
	t       *testing.T
	base    string
	answers []map[string][]map[string]any // each answer's objects with their scalar fields, by type
	tokens  map[string]string             // account -> access token
}

var tourPlaceholderRE = regexp.MustCompile(`"<([^">]+)>"`)

func (r *tourRun) run(op tourOp) {
	t := r.t
	t.Helper()
	where := fmt.Sprintf("README.md:%d %s", op.Line, op.Name)
	text := tourPlaceholderRE.ReplaceAllStringFunc(op.Text, func(p string) string {
		v, err := r.placeholder(p[2 : len(p)-2])
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		b, _ := json.Marshal(v)
		return string(b)
	})
	doc, errs := gqlparser.LoadQueryWithRules(tourSchema, text, nil)
	if errs != nil {
		t.Fatalf("%s: %v\n%s", where, errs, text)
	}
	token := ""
	if op.As != "" {
		token = r.token(op.As, where)
	}
	var answer wsResult
	var raw []byte
	if op.Kind == "subscription" {
		// Over graphql-transport-ws, as apps subscribe; the first result is
		// the current state.
		ws := wsConnect(t, &testServer{Server: &httptest.Server{URL: r.base}}, token)
		id := ws.subscribe(t, text, nil)
		m, ok := ws.recv(10 * time.Second)
		if !ok || m.ID != id || (m.Type != "next" && m.Type != "error") {
			t.Fatalf("%s: no result: %+v (read error %v)", where, m, ws.err())
		}
		raw = m.Payload
		if m.Type == "error" {
			raw = []byte(`{"errors":` + string(m.Payload) + `}`)
		}
		if err := json.Unmarshal(raw, &answer); err != nil {
			t.Fatalf("%s: %v: %s", where, err, raw)
		}
		ws.send(t, wsMessage{ID: id, Type: "complete"})
	} else {
		body, _ := json.Marshal(map[string]any{"query": text, "operationName": op.Name})
		hdr := map[string]string{"Content-Type": "application/json"}
		if token != "" {
			hdr["Authorization"] = "Bearer " + token
		}
		var resp *http.Response
		resp, raw = httpCall(t, nil, http.MethodPost, r.base+"/graphql", bytes.NewReader(body), hdr)
		if err := json.Unmarshal(raw, &answer); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", where, resp.StatusCode, raw)
		}
	}
	var codes []string
	for _, e := range answer.Errors {
		c, _ := e.Extensions["code"].(string)
		codes = append(codes, c)
	}
	for _, payload := range answer.Data {
		codes = append(codes, userErrorCodes(payload)...)
	}
	switch {
	case op.Expect == "" && len(codes) > 0:
		t.Errorf("%s (as %q) answered %v: %s", where, op.As, codes, raw)
	case op.Expect != "" && (len(codes) != 1 || codes[0] != op.Expect):
		t.Errorf("%s (as %q) answered %v, the README expects %s: %s", where, op.As, codes, op.Expect, raw)
	}
	found := map[string][]map[string]any{}
	root := doc.Operations[0]
	tourCollect(root.SelectionSet, answer.Data, tourSchema.Types[tourRootType(root.Operation)].Name, found)
	r.answers = append(r.answers, found)
	if sessions := found["Session"]; len(sessions) > 0 {
		tok, _ := sessions[0]["accessToken"].(string)
		if m := regexp.MustCompile(`phone: "(\d+)"`).FindStringSubmatch(text); m != nil && tok != "" {
			r.tokens[m[1]] = tok
		}
	}
}

// placeholder is the value of "<Type field>" or of a date.
func (r *tourRun) placeholder(p string) (any, error) {
	today := models.ChinaDate(time.Now())
	switch {
	case p == "today":
		return today.String(), nil
	case p == "yesterday":
		return today.AddDate(0, 0, -1).String(), nil
	case strings.HasPrefix(p, "today+"):
		n, err := strconv.Atoi(strings.TrimPrefix(p, "today+"))
		if err != nil {
			return nil, fmt.Errorf("placeholder <%s>", p)
		}
		return today.AddDate(0, 0, n).String(), nil
	}
	words := strings.Fields(p)
	var value string
	switch len(words) {
	case 3:
		value, words = words[0], words[1:]
	case 2:
	default:
		return nil, fmt.Errorf("placeholder <%s> is not <Type field> or <VALUE Type field>", p)
	}
	for i := len(r.answers) - 1; i >= 0; i-- {
		for _, obj := range r.answers[i][words[0]] {
			v, ok := obj[words[1]]
			if !ok {
				continue
			}
			if value == "" {
				return v, nil
			}
			for _, w := range obj {
				if w == value {
					return v, nil
				}
			}
		}
	}
	return nil, fmt.Errorf("no earlier answer has a %s's %s for <%s>", words[0], words[1], p)
}

// token is the access token of an account: a staff username signs in with
// the demo password; a phone number uses the tour's own sign-in.
func (r *tourRun) token(account, where string) string {
	t := r.t
	t.Helper()
	if tok, ok := r.tokens[account]; ok {
		return tok
	}
	if account[0] >= '0' && account[0] <= '9' {
		t.Fatalf("%s: no operation before signed in %s", where, account)
	}
	body, _ := json.Marshal(map[string]any{
		"query":     `mutation($u: String!, $p: String!) { staffLogin(input: {username: $u, password: $p}) { session { accessToken } userErrors { code } } }`,
		"variables": map[string]any{"u": account, "p": demo.DefaultPassword},
	})
	_, raw := httpCall(t, nil, http.MethodPost, r.base+"/graphql", bytes.NewReader(body), map[string]string{"Content-Type": "application/json"})
	tok, _ := dig(decodeJSON(t, raw)["data"], "staffLogin", "session", "accessToken").(string)
	if tok == "" {
		t.Fatalf("%s: staff account %s cannot sign in: %s", where, account, raw)
	}
	r.tokens[account] = tok
	return tok
}

// tourRootType is the schema's type of an operation's answer.
func tourRootType(op ast.Operation) string {
	switch op {
	case ast.Mutation:
		return "Mutation"
	case ast.Subscription:
		return "Subscription"
	}
	return "Query"
}

// tourCollect records, by type, the objects of an answer with their scalar
// fields, in the answer's order.
func tourCollect(set ast.SelectionSet, data any, typ string, found map[string][]map[string]any) {
	switch d := data.(type) {
	case []any:
		for _, item := range d {
			tourCollect(set, item, typ, found)
		}
	case map[string]any:
		obj := map[string]any{}
		found[typ] = append(found[typ], obj)
		tourFields(set, d, obj, found)
	}
}

func tourFields(set ast.SelectionSet, d, obj map[string]any, found map[string][]map[string]any) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			v, ok := d[s.Alias]
			if !ok || v == nil {
				continue
			}
			if len(s.SelectionSet) > 0 {
				tourCollect(s.SelectionSet, v, s.Definition.Type.Name(), found)
			} else {
				obj[s.Name] = v
			}
		case *ast.InlineFragment:
			tourFields(s.SelectionSet, d, obj, found)
		case *ast.FragmentSpread:
			tourFields(s.Definition.SelectionSet, d, obj, found)
		}
	}
}
