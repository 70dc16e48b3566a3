package models

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Every list is read one keyset page at a time, by this pager: rows are
// ordered by an optional leading time column and then by their UUIDv7 id
// (creation order), and a page continues after the last row of the previous
// one by comparing those values, not by skipping rows. A page is one index
// range scan on both dialects, rows inserted meanwhile neither repeat nor
// hide others, and a cursor stays valid after its row is gone.

// Page sizes of every list.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)

// Page asks for First rows after the row at After (zero: from the start).
type Page struct {
	First int
	After Cursor
	// Desc orders newest first.
	Desc bool
	// Total, when set, asks Fetch to count the whole list (every page) in
	// one more statement and store the count there: a connection's
	// totalCount, asked for only when a client selects it.
	Total *int
}

// Cursor is where a page continues: the sort key of the last row read (At,
// for lists ordered by a time first; zero otherwise) and its id.
type Cursor struct {
	At time.Time
	ID uuid.UUID
}

// IsZero reports whether the cursor is the start of a list.
func (c Cursor) IsZero() bool { return c.ID == uuid.Nil && c.At.IsZero() }

// String is the cursor as clients see it, opaque: base64url of
// "c:<id>" or "c:<id>:<unix nanoseconds>".
func (c Cursor) String() string {
	s := "c:" + c.ID.String()
	if !c.At.IsZero() {
		s += ":" + strconv.FormatInt(c.At.UnixNano(), 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// errBadCursor is the one answer to an after argument this pager did not
// write, or wrote for a list sorted another way.
var errBadCursor = E(CodeInvalidArgument, "无效的分页游标", "after is not a valid cursor").On("after")

// ParseCursor reads a cursor String wrote, and only that spelling of it (one
// position, one cursor: clients compare them). Empty is the start.
//
// Codes: INVALID_ARGUMENT ("after").
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, errBadCursor
	}
	rest, ok := strings.CutPrefix(string(raw), "c:")
	if !ok {
		return Cursor{}, errBadCursor
	}
	key, at, keyed := strings.Cut(rest, ":")
	var c Cursor
	if c.ID, err = uuid.Parse(key); err != nil || c.ID == uuid.Nil {
		return Cursor{}, errBadCursor
	}
	if keyed {
		n, err := strconv.ParseInt(at, 10, 64)
		if err != nil || n == 0 {
			return Cursor{}, errBadCursor
		}
		c.At = time.Unix(0, n).UTC()
	}
	if c.String() != s {
		return Cursor{}, errBadCursor
	}
	return c, nil
}

// NewPage reads the first and after arguments of a list (nil: the default
// size, from the start).
//
// Codes: INVALID_ARGUMENT ("first": outside 1..100; "after": not a cursor).
func NewPage(first *int, after *string) (Page, error) {
	n := DefaultPageSize
	if first != nil {
		n = *first
	}
	p := Page{First: n}
	if err := p.Valid(Order{}); err != nil {
		return Page{}, err
	}
	if after != nil {
		c, err := ParseCursor(*after)
		if err != nil {
			return Page{}, err
		}
		p.After = c
	}
	return p, nil
}

// Valid refuses a page size outside 1..100, also for pages not made by
// NewPage (a size is refused, never quietly changed), and a cursor written
// for a list sorted another way than o (the zero Order: any cursor).
//
// Codes: INVALID_ARGUMENT ("first", "after").
func (p Page) Valid(o Order) error {
	if p.First < 1 || p.First > MaxPageSize {
		return Ef(CodeInvalidArgument, "每页数量须在 1 到 100 之间", "first must be between 1 and %d", MaxPageSize).On("first")
	}
	if o.ID != "" && !p.After.IsZero() && (o.At == "") != p.After.At.IsZero() {
		return errBadCursor
	}
	return nil
}

// Order is the sort key of a list: a leading time column (At; empty for
// lists by id alone), then the id column, the id breaking ties.
type Order struct {
	At, ID string
}

// ByID orders by the id column alone.
func ByID(idColumn string) Order { return Order{ID: idColumn} }

// ByTime orders by a time column, then by id.
func ByTime(atColumn, idColumn string) Order { return Order{At: atColumn, ID: idColumn} }

// Key is the cursor of a row with time at (ignored for lists by id) and id.
func (o Order) Key(at time.Time, id uuid.UUID) Cursor {
	if o.At == "" {
		return Cursor{ID: id}
	}
	return Cursor{At: at.UTC(), ID: id}
}

// OrderBy is the ORDER BY clause of the order.
func (o Order) OrderBy(desc bool) string {
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	if o.At == "" {
		return o.ID + dir
	}
	return o.At + dir + ", " + o.ID + dir
}

// After is the condition selecting the rows that follow c in the order
// ("" for the zero cursor). c must have passed Page.Valid for o.
func (o Order) After(c Cursor, desc bool) (cond string, args []any) {
	cmp := " > "
	if desc {
		cmp = " < "
	}
	switch {
	case c.IsZero():
		return "", nil
	case o.At == "":
		return o.ID + cmp + "?", []any{c.ID}
	}
	return "(" + o.At + cmp + "? OR (" + o.At + " = ? AND " + o.ID + cmp + "?))", []any{c.At, c.At, c.ID}
}

// Fetch reads one page of q in order o and reports whether more rows
// follow.
//
// Codes: INVALID_ARGUMENT ("first": outside 1..100; "after": a cursor of a
// list sorted another way).
func Fetch[T any](q *gorm.DB, o Order, p Page) ([]T, bool, error) {
	if err := p.Valid(o); err != nil {
		return nil, false, err
	}
	if p.Total != nil {
		// The list's own conditions, without cursor, order or limit: the
		// index that finds its rows counts them.
		var n int64
		if err := q.Session(&gorm.Session{}).Count(&n).Error; err != nil {
			return nil, false, err
		}
		*p.Total = int(n)
	}
	if cond, args := o.After(p.After, p.Desc); cond != "" {
		q = q.Where(cond, args...)
	}
	var rows []T
	if err := q.Order(o.OrderBy(p.Desc)).Limit(p.First + 1).Find(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) > p.First {
		return rows[:p.First], true, nil
	}
	return rows, false, nil
}

// ListPage asks for one page of one of several lists of a table that
// FetchEach reads together (a dataloader's batch): the list of the rows
// whose partition column is List.
type ListPage struct {
	List  uuid.UUID
	First int
	After Cursor
}

// Paged is one page of a list read by FetchEach. Total counts the whole
// list, before and after the page. Err refuses a key no page can answer
// (see Page.Valid), without failing the other keys of its batch.
type Paged[T any] struct {
	Rows    []T
	HasNext bool
	Total   int
	Err     error
}

// Lists names the lists FetchEach pages: the rows of Table matching Where
// (on the table's alias t), partitioned by column Part, each in Order
// (columns named without alias), Desc for newest first.
type Lists struct {
	Table, Part string
	Where       string
	Args        []any
	Order       Order
	Desc        bool
}

// FetchEach reads one page of each list in one statement per round of
// distinct lists (a key repeating a list, asking for another page of it,
// costs one more statement), with each list's total in the same statement.
//
// Codes, in a page's Err: INVALID_ARGUMENT ("first", "after": the key's page
// not Valid for l.Order).
func FetchEach[T any](db *gorm.DB, l Lists, keys []ListPage) (map[ListPage]Paged[*T], error) {
	out := make(map[ListPage]Paged[*T], len(keys))
	var rounds [][]ListPage
	for _, k := range keys {
		if _, seen := out[k]; seen {
			continue
		}
		if err := (Page{First: k.First, After: k.After}).Valid(l.Order); err != nil {
			out[k] = Paged[*T]{Err: err}
			continue
		}
		out[k] = Paged[*T]{Rows: []*T{}}
		i := 0
		for i < len(rounds) && hasList(rounds[i], k.List) {
			i++
		}
		if i == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[i] = append(rounds[i], k)
	}
	for _, round := range rounds {
		if err := fetchRound(db, l, round, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func hasList(keys []ListPage, list uuid.UUID) bool {
	for _, k := range keys {
		if k.List == list {
			return true
		}
	}
	return false
}

// ranked is a row of a list with its place: page_list is the list;
// page_after is 1 for rows after the list's cursor; page_rank numbers the
// rows after it (and those before it) in the list's order; page_total
// counts the list.
type ranked[T any] struct {
	Row       T `gorm:"embedded"`
	PageList  uuid.UUID
	PageAfter int
	PageRank  int
	PageTotal int
}

// fetchRound reads the pages of lists that are all distinct. Besides the
// page's rows (and one more, to tell whether more follow), it reads the
// first row before each cursor, so that a list whose page is empty still
// has its total: window functions, on both dialects.
func fetchRound[T any](db *gorm.DB, l Lists, round []ListPage, out map[ListPage]Paged[*T]) error {
	in := Order{ID: "t." + l.Order.ID}
	if l.Order.At != "" {
		in.At = "t." + l.Order.At
	}
	var after []string
	var args []any
	var ids, fromStart []uuid.UUID
	limit := 0
	for _, k := range round {
		ids = append(ids, k.List)
		limit = max(limit, k.First+1)
		cond, a := in.After(k.After, l.Desc)
		if cond == "" {
			fromStart = append(fromStart, k.List)
			continue
		}
		after = append(after, "(t."+l.Part+" = ? AND "+cond+")")
		args = append(append(args, k.List), a...)
	}
	if len(fromStart) > 0 {
		after = append(after, "t."+l.Part+" IN ?")
		args = append(args, fromStart)
	}
	order := l.Order.OrderBy(l.Desc)
	q := `SELECT * FROM (
		SELECT x.*, x.` + l.Part + ` AS page_list, COUNT(*) OVER (PARTITION BY x.` + l.Part + `) AS page_total,
			ROW_NUMBER() OVER (PARTITION BY x.` + l.Part + `, x.page_after ORDER BY ` + order + `) AS page_rank
		FROM (SELECT t.*, CASE WHEN ` + strings.Join(after, " OR ") + ` THEN 1 ELSE 0 END AS page_after
			FROM ` + l.Table + ` t WHERE t.` + l.Part + ` IN ?` + and(l.Where) + `) x
	) y WHERE (y.page_after = 1 AND y.page_rank <= ?) OR (y.page_after = 0 AND y.page_rank = 1)
	ORDER BY y.` + l.Part + `, y.page_after, y.page_rank`
	args = append(append(append(args, ids), l.Args...), limit)
	var rows []ranked[T]
	if err := Scan(db.Raw(q, args...), &rows); err != nil {
		return err
	}
	byList := make(map[uuid.UUID][]*ranked[T], len(round))
	for i := range rows {
		r := &rows[i]
		byList[r.PageList] = append(byList[r.PageList], r)
	}
	for _, k := range round {
		var p Paged[*T]
		p.Rows = []*T{}
		for _, r := range byList[k.List] {
			p.Total = r.PageTotal
			if r.PageAfter == 1 {
				p.Rows = append(p.Rows, &r.Row)
			}
		}
		if len(p.Rows) > k.First {
			p.Rows, p.HasNext = p.Rows[:k.First], true
		}
		out[k] = p
	}
	return nil
}

func and(where string) string {
	if where == "" {
		return ""
	}
	return " AND (" + where + ")"
}

// FetchEachBy is FetchEach for keys that each also name a filter of their
// list (a status, say): one FetchEach per distinct filter, whose condition
// (on alias t) where gives. Every key gets its page, or its page's Err.
func FetchEachBy[T any, K, F comparable](db *gorm.DB, l Lists, keys []K, page func(K) (ListPage, F), where func(F) (string, []any)) (map[K]Paged[*T], error) {
	byFilter := map[F][]ListPage{}
	for _, k := range keys {
		p, f := page(k)
		byFilter[f] = append(byFilter[f], p)
	}
	out := make(map[K]Paged[*T], len(keys))
	for f, pages := range byFilter {
		l.Where, l.Args = where(f)
		got, err := FetchEach[T](db, l, pages)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if p, kf := page(k); kf == f {
				out[k] = got[p]
			}
		}
	}
	return out, nil
}
