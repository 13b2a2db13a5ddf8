package airmy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"

	"github.com/airmy/airmy-go/option"
)

// Page is one page of a list: {"object": "list", "data": [...], "has_more": bool}. GetNextPage
// fetches the one after it. A page is also an iterator over every item from it to the end of the
// list (Next/Current/Err, fetching with the context of the List call), as ListAutoPaging is.
type Page[T any] struct {
	Object  string
	Data    []T
	HasMore bool

	ctx    context.Context
	it     *Iter[T]
	client *Client
	path   string
	query  url.Values
	opts   []option.RequestOption
	cursor string // the id (or sequence number) of the last item
}

// GetNextPage fetches the page after p with starting_after = its last item; nil when there is none.
func (p *Page[T]) GetNextPage(ctx context.Context) (*Page[T], error) {
	if !p.HasMore || p.cursor == "" {
		return nil, nil
	}
	q := url.Values{}
	for k, v := range p.query {
		q[k] = v
	}
	q.Del("ending_before")
	q.Set("starting_after", p.cursor)
	return getPage[T](ctx, p.client, p.path, q, p.opts)
}

func getPage[T any](ctx context.Context, c *Client, path string, query url.Values, opts []option.RequestOption) (*Page[T], error) {
	var raw struct {
		Object  string            `json:"object"`
		Data    []json.RawMessage `json:"data"`
		HasMore bool              `json:"has_more"`
	}
	if err := c.do(ctx, request{method: "GET", path: path, query: query}, &raw, opts); err != nil {
		return nil, err
	}
	page := &Page[T]{Object: raw.Object, HasMore: raw.HasMore, Data: make([]T, len(raw.Data)), ctx: ctx, client: c, path: path, query: query, opts: opts}
	for i, item := range raw.Data {
		if err := json.Unmarshal(item, &page.Data[i]); err != nil {
			return nil, fmt.Errorf("airmy: decoding an item of %s: %w", path, err)
		}
	}
	if n := len(raw.Data); n > 0 {
		var key struct {
			ID  string `json:"id"`
			Seq *int64 `json:"sequence_number"`
		}
		_ = json.Unmarshal(raw.Data[n-1], &key)
		page.cursor = key.ID
		if key.ID == "" && key.Seq != nil {
			page.cursor = strconv.FormatInt(*key.Seq, 10)
		}
	}
	return page, nil
}

// Next moves to the next item of the list, from this page's first on; see Iter.
func (p *Page[T]) Next() bool {
	if p.it == nil {
		p.it = &Iter[T]{ctx: p.ctx, page: p}
	}
	return p.it.Next()
}

// Current is the item Next moved to.
func (p *Page[T]) Current() T {
	if p.it == nil {
		var zero T
		return zero
	}
	return p.it.Current()
}

// Err is the error that stopped Next, nil when it reached the end of the list.
func (p *Page[T]) Err() error {
	if p.it == nil {
		return nil
	}
	return p.it.Err()
}

// Iter walks every item of a list, fetching pages as it goes:
//
//	it := client.Runs.ListAutoPaging(ctx, airmy.RunListParams{})
//	for it.Next() { run := it.Current() … }
//	if err := it.Err(); err != nil { … }
type Iter[T any] struct {
	ctx   context.Context
	page  *Page[T]
	fetch func() (*Page[T], error) // the first page
	i     int
	cur   T
	err   error
}

func newIter[T any](ctx context.Context, c *Client, path string, query url.Values, opts []option.RequestOption) *Iter[T] {
	return &Iter[T]{ctx: ctx, fetch: func() (*Page[T], error) { return getPage[T](ctx, c, path, query, opts) }}
}

// Next moves to the next item, fetching the next page when needed; false at the end or on error.
func (it *Iter[T]) Next() bool {
	if it.err != nil {
		return false
	}
	if it.page == nil {
		if it.page, it.err = it.fetch(); it.err != nil {
			return false
		}
	}
	for it.i >= len(it.page.Data) {
		next, err := it.page.GetNextPage(it.ctx)
		if err != nil || next == nil {
			it.err = err
			return false
		}
		it.page, it.i = next, 0
	}
	it.cur = it.page.Data[it.i]
	it.i++
	return true
}

// Current is the item Next moved to.
func (it *Iter[T]) Current() T { return it.cur }

// Err is the error that stopped the walk, nil when it reached the end.
func (it *Iter[T]) Err() error { return it.err }
