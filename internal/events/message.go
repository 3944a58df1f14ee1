package events

import "encoding/json"

// Message is an event as Docker's API and `docker events --format` show it,
// and as the log stores it since cocin writes Docker's shape.
type Message struct {
	// status, id and from are Docker's deprecated copies of Action,
	// Actor.ID and the image; scripts still read them.
	Status   string `json:"status,omitempty"`
	ID       string `json:"id,omitempty"`
	From     string `json:"from,omitempty"`
	Type     string `json:"Type"`
	Action   string `json:"Action"`
	Actor    Actor  `json:"Actor"`
	Scope    string `json:"scope,omitempty"`
	Time     int64  `json:"time,omitempty"`
	TimeNano int64  `json:"timeNano,omitempty"`
}

// Actor is what an event is about: a container's ID, its image and name,
// and the action's details (exitCode, signal, oldName).
type Actor struct {
	ID         string            `json:"ID"`
	Attributes map[string]string `json:"Attributes"`
}

// Message returns ev in Docker's shape. Attributes hold the image and name
// (as Docker's do), then ev.Attrs, which win: rename sets the new name.
// When ev.Attrs already holds them (events read back from the log), they
// are the Message's attributes, not a copy: one map less per event
// replayed.
func (ev Event) Message() Message {
	attrs := ev.Attrs
	if attrs == nil || !hasAttr(attrs, "image", ev.Image) || !hasAttr(attrs, "name", ev.Name) {
		attrs = make(map[string]string, len(ev.Attrs)+2)
		if ev.Image != "" {
			attrs["image"] = ev.Image
		}
		if ev.Name != "" {
			attrs["name"] = ev.Name
		}
		for k, v := range ev.Attrs {
			attrs[k] = v
		}
	}
	m := Message{Type: ev.Type, Action: ev.Action, Actor: Actor{ID: ev.ID, Attributes: attrs},
		Scope: "local", Time: ev.Time, TimeNano: ev.TimeNano}
	// Docker fills the deprecated fields for these two types only.
	switch ev.Type {
	case "container":
		m.Status, m.ID, m.From = ev.Action, ev.ID, attrs["image"]
	case "image":
		m.Status, m.ID = ev.Action, ev.ID
	}
	return m
}

// hasAttr reports whether attrs needs no k=v added: it has k, which would
// win over v, or v is empty.
func hasAttr(attrs map[string]string, k, v string) bool {
	_, ok := attrs[k]
	return ok || v == ""
}

// diskLine decodes both shapes a log line can have: Docker's (written
// now) and cocin's first one (Type, Action, ID, Name, Image, Attributes,
// time, timeNano), which existing roots still hold. encoding/json prefers
// the exact key, so "ID" (old) and "id" (new) land in different fields.
type diskLine struct {
	Message
	OldID    string            `json:"ID"`
	OldName  string            `json:"Name"`
	OldImage string            `json:"Image"`
	OldAttrs map[string]string `json:"Attributes"`
}

// decodeLine turns one log line, in either shape, into an Event.
func decodeLine(b []byte) (Event, error) {
	if ev, ok := scanLine(b); ok {
		return ev, nil
	}
	var l diskLine
	if err := json.Unmarshal(b, &l); err != nil {
		return Event{}, err
	}
	return l.event(), nil
}

func (l *diskLine) event() Event {
	ev := Event{Type: l.Type, Action: l.Action, Time: l.Time, TimeNano: l.TimeNano}
	if l.Actor.ID == "" && l.OldID != "" {
		ev.ID, ev.Name, ev.Image, ev.Attrs = l.OldID, l.OldName, l.OldImage, l.OldAttrs
		return ev
	}
	attrs := l.Actor.Attributes
	ev.ID, ev.Name, ev.Image, ev.Attrs = l.Actor.ID, attrs["name"], attrs["image"], attrs
	return ev
}
