package airmy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/airmy/airmy-go/internal/config"
)

// Event is one event of a run, pipeline run or deployment log stream. Type and SequenceNumber are
// always set; the other fields when the event type carries them. Data is the event as sent.
type Event struct {
	Type           string          `json:"type"`
	SequenceNumber int64           `json:"sequence_number"`
	RunID          string          `json:"run_id,omitempty"`
	PipelineRunID  string          `json:"pipeline_run_id,omitempty"`
	StepID         string          `json:"step_id,omitempty"`
	Delta          string          `json:"delta,omitempty"`   // run.output.delta
	Status         string          `json:"status,omitempty"`  // deployment.status
	Message        string          `json:"message,omitempty"` // deployment.log, deployment.status
	Run            *Run            `json:"run,omitempty"`     // run.created and a run's terminal event
	PipelineRun    *PipelineRun    `json:"pipeline_run,omitempty"`
	Data           json.RawMessage `json:"-"`
}

// Stream iterates the events of a Server-Sent Events answer:
//
//	stream := client.Runs.Stream(ctx, params)
//	defer stream.Close()
//	for stream.Next() { fmt.Print(stream.Current().Delta) }
//	if err := stream.Err(); err != nil { … }
//
// When the connection drops before the terminal event it reconnects by itself (with the retry
// backoff, up to max-retries times in a row without a new event) to the follow endpoint with
// Last-Event-ID, and skips what it already yielded: every event comes exactly once, in order.
type Stream struct {
	ctx    context.Context
	client *Client
	cfg    *config.Config

	open     func() (*http.Response, error) // the first request
	follow   func(s *Stream) request        // where to resume; path "" when it cannot
	terminal func(Event) bool
	eofEnds  bool // a clean end of the answer ends the stream (deployment logs with follow=false)

	body    io.ReadCloser
	dec     *sseDecoder
	lastSeq int64
	seen    bool
	runID   string
	drops   int
	cur     Event
	err     error
	done    bool
}

// Next waits for the next event; false after the terminal event, on error, or after Close.
func (s *Stream) Next() bool {
	for !s.done && s.err == nil {
		if s.body == nil && !s.connect() {
			return false
		}
		msg, err := s.dec.next()
		if err != nil {
			s.dropped(err)
			continue
		}
		if msg.event == "error" {
			s.err = streamError(msg.data)
			s.Close()
			return false
		}
		if len(bytes.TrimSpace(msg.data)) == 0 {
			continue // an empty data field carries no event
		}
		var ev Event
		if err := json.Unmarshal(msg.data, &ev); err != nil {
			s.err = fmt.Errorf("airmy: decoding a stream event: %w", err)
			s.Close()
			return false
		}
		if ev.SequenceNumber == 0 && msg.id != "" {
			ev.SequenceNumber, _ = strconv.ParseInt(msg.id, 10, 64)
		}
		if s.seen && ev.SequenceNumber <= s.lastSeq {
			continue // replayed after a resume: already yielded
		}
		ev.Data = msg.data
		s.lastSeq, s.seen, s.drops = ev.SequenceNumber, true, 0
		if s.runID == "" && ev.RunID != "" {
			s.runID = ev.RunID
		} else if s.runID == "" && ev.Run != nil {
			s.runID = ev.Run.ID
		}
		s.cur = ev
		if s.terminal(ev) {
			s.Close()
		}
		return true
	}
	return false
}

// Current is the event Next moved to.
func (s *Stream) Current() Event { return s.cur }

// RunID is the id of the run (or pipeline run) streamed, once its first event has arrived.
func (s *Stream) RunID() string { return s.runID }

// Err is what stopped the stream; nil after its terminal event or Close.
func (s *Stream) Err() error { return s.err }

// Close ends the stream and its connection; Next returns false afterwards.
func (s *Stream) Close() error {
	s.done = true
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
	return nil
}

func (s *Stream) connect() bool {
	var res *http.Response
	var err error
	if s.open != nil && !s.seen && s.drops == 0 && s.runID == "" {
		res, err = s.open()
	} else {
		r := s.follow(s)
		if r.path == "" {
			err = &ConnectionError{Err: errors.New("the stream dropped before its first event: nothing to resume from")}
		} else {
			res, _, err = s.client.send(s.ctx, r, s.cfg)
		}
	}
	if err != nil {
		s.err = err
		s.done = true
		return false
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt == "application/json" {
		// A retried streamed POST answered from the idempotency store: the finished run as JSON.
		// Follow its events from the start instead, so the caller still sees every one.
		var run struct {
			ID string `json:"id"`
		}
		err := json.NewDecoder(res.Body).Decode(&run)
		res.Body.Close()
		if err != nil || run.ID == "" {
			s.err, s.done = fmt.Errorf("airmy: a JSON answer where a stream was expected"), true
			return false
		}
		s.runID = run.ID
		return s.connect()
	}
	s.body = res.Body
	s.dec = newSSEDecoder(res.Body)
	return true
}

// dropped handles the end of an answer before the terminal event: resume, or give up.
func (s *Stream) dropped(err error) {
	if s.body != nil {
		s.body.Close()
		s.body = nil
	}
	if s.ctx.Err() != nil {
		s.err, s.done = s.ctx.Err(), true
		return
	}
	if err == io.EOF && s.eofEnds {
		s.done = true
		return
	}
	if s.drops >= s.cfg.MaxRetries {
		s.err, s.done = &ConnectionError{Err: fmt.Errorf("stream dropped %d times without a new event: %w", s.drops+1, err)}, true
		return
	}
	delay := backoff(s.drops)
	if s.dec != nil && s.dec.retry > 0 {
		delay = s.dec.retry
	}
	s.drops++
	if err := sleep(s.ctx, delay); err != nil {
		s.err, s.done = err, true
	}
}

// streamError is an `event: error` of a stream: its envelope as an *Error (StatusCode 0: the
// stream's status was 200 when it started).
func streamError(data []byte) error {
	var env ErrorEnvelope
	if err := json.Unmarshal(data, &env); err != nil || env.Error.Code == "" {
		return fmt.Errorf("airmy: stream error event: %s", data)
	}
	e := &Error{Type: env.Error.Type, Code: env.Error.Code, Message: env.Error.Message, RequestID: env.Error.RequestID, Body: data}
	if env.Error.Param != nil {
		e.Param = *env.Error.Param
	}
	return e
}

// resumeHeader is Last-Event-ID: the last sequence number yielded, so the server replays after it.
func (s *Stream) resumeHeader() http.Header {
	if !s.seen {
		return nil
	}
	return http.Header{"Last-Event-Id": {strconv.FormatInt(s.lastSeq, 10)}}
}

// sseDecoder reads Server-Sent Events per the WHATWG rules: lines end in \n, \r\n or \r; `:`
// starts a comment; fields event, data (joined by \n), id and retry; a blank line dispatches.
type sseDecoder struct {
	lines *bufio.Scanner
	retry time.Duration
}

type sseMessage struct {
	event, id string
	data      []byte
}

func newSSEDecoder(r io.Reader) *sseDecoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	sc.Split(scanSSELines)
	return &sseDecoder{lines: sc}
}

// next answers the next dispatched message; io.EOF at a clean end, another error when cut.
func (d *sseDecoder) next() (sseMessage, error) {
	var msg sseMessage
	var data bytes.Buffer
	hasData := false
	for d.lines.Scan() {
		line := d.lines.Text()
		if line == "" {
			if !hasData {
				msg = sseMessage{}
				continue
			}
			msg.data = bytes.TrimSuffix(data.Bytes(), []byte("\n"))
			return msg, nil
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "event":
			msg.event = value
		case "data":
			data.WriteString(value)
			data.WriteByte('\n')
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				msg.id = value
			}
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				d.retry = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if err := d.lines.Err(); err != nil {
		return sseMessage{}, err
	}
	return sseMessage{}, io.EOF // an unfinished message at the end is dropped, as the spec says
}

func scanSSELines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if atEOF {
				return i + 1, data[:i], nil
			}
			return 0, nil, nil // a \n may follow
		}
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
