package events

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// scanLine decodes a log line of either shape in one pass, without
// reflection: encoding/json takes several microseconds a line, too slow
// for replaying a log of a hundred thousand events. It understands the
// keys cocin writes and nothing else; ok is false on anything unexpected
// and decodeLine then falls back to encoding/json.
func scanLine(b []byte) (ev Event, ok bool) {
	s := scanner{b: b}
	var l diskLine
	ok = s.object(func(key string) (ok bool) {
		switch key {
		case "Type":
			l.Type, ok = s.str()
		case "Action":
			l.Action, ok = s.str()
		case "status", "id", "from", "scope":
			ok = s.skipStr() // copies of other fields; decodeLine ignores them too
		case "Actor":
			ok = s.object(func(key string) bool { return s.actorField(key, &l.Actor) })
		case "time":
			l.Time, ok = s.num()
		case "timeNano":
			l.TimeNano, ok = s.num()
		case "ID":
			l.OldID, ok = s.str()
		case "Name":
			l.OldName, ok = s.str()
		case "Image":
			l.OldImage, ok = s.str()
		case "Attributes":
			l.OldAttrs, ok = s.strMap()
		}
		return ok // false for a key cocin does not write, too
	})
	if !ok || s.ws() != len(b) {
		return Event{}, false
	}
	return l.event(), true
}

func (s *scanner) actorField(key string, a *Actor) (ok bool) {
	switch key {
	case "ID":
		a.ID, ok = s.str()
	case "Attributes":
		a.Attributes, ok = s.strMap()
	}
	return ok
}

// scanner walks one JSON line; every method returns false on input it
// does not expect.
type scanner struct {
	b []byte
	i int
}

// ws skips white space and returns the position.
func (s *scanner) ws() int {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
	return s.i
}

func (s *scanner) byte(c byte) bool {
	if s.ws() < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads {"key": value, ...}, calling field to read each value.
func (s *scanner) object(field func(key string) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.byte(':') || !field(key) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

func (s *scanner) strMap() (map[string]string, bool) {
	if s.ws()+4 <= len(s.b) && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return nil, true
	}
	m := map[string]string{}
	ok := s.object(func(key string) bool {
		v, ok := s.str()
		m[key] = v
		return ok
	})
	return m, ok
}

// str reads a string; one with escapes goes through encoding/json, which
// knows JSON's rules (they are not Go's).
func (s *scanner) str() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start, escaped := s.i, false
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			escaped = true
			s.i++
		case c < 0x20:
			return "", false
		case c == '"':
			s.i++
			if !escaped {
				return string(s.b[start : s.i-1]), true
			}
			var v string
			err := json.Unmarshal(s.b[start-1:s.i], &v)
			return v, err == nil
		}
	}
	return "", false
}

// skipStr passes over a string without allocating it.
func (s *scanner) skipStr() bool {
	if !s.byte('"') {
		return false
	}
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '\\':
			s.i++
		case c < 0x20:
			return false
		case c == '"':
			s.i++
			return true
		}
	}
	return false
}

func (s *scanner) num() (int64, bool) {
	start := s.ws()
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64)
	return n, err == nil
}

// lineTime returns a log line's timeNano without decoding the whole line;
// seeking by time reads a few lines of a possibly huge log this way. Both
// shapes carry the key.
func lineTime(b []byte) (int64, bool) {
	const key = `"timeNano":`
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	s := scanner{b: b, i: i + len(key)}
	return s.num()
}
