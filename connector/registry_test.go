package connector

import (
	"strings"
	"testing"

	"streamsql/exec/stream"
	"streamsql/sql/sqlerr"
)

func testConnector() *Connector {
	return &Connector{
		Name: "demo",
		Options: []Option{
			{Name: "topic", Type: String, Required: true},
			{Name: "properties.bootstrap.server", Type: HostPorts, Required: true},
			{Name: "scan.startup.mode", Type: Enum, Values: []string{"earliest", "latest"}, Default: "earliest"},
			{Name: "properties.sasl.password", Type: String, Secret: true},
			{Name: "fields.*.kind", Type: String},
			{Name: "batch.size", Type: Int, Min: 1, Max: 100},
			{Name: "idle", Type: Duration},
		},
		Formats: []string{"PLAIN JSON"},
	}
}

func TestValidate(t *testing.T) {
	c := testConnector()
	ok := map[string]string{"connector": "demo", "TOPIC": "t", "properties.bootstrap.server": "127.0.0.1:9092,h:1",
		"fields.x.kind": "random", "idle": "5s", "batch.size": "7"}
	got, err := c.Validate(ok)
	if err != nil {
		t.Fatal(err)
	}
	if got["topic"] != "t" || got["scan.startup.mode"] != "earliest" {
		t.Fatalf("keys not lower-cased or default not filled: %v", got)
	}
	for _, tc := range []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"topic": "t"}, `requires option "properties.bootstrap.server"`},
		{map[string]string{}, `requires options 'topic', 'properties.bootstrap.server'`},
		{map[string]string{"topic": "t", "properties.bootstrap.server": "nohost"}, `invalid value for demo option "properties.bootstrap.server"`},
		{map[string]string{"topic": "t", "properties.bootstrap.server": "h:1", "scan.startup.mode": "middle"}, `"scan.startup.mode": "middle"`},
		{map[string]string{"topic": "t", "properties.bootstrap.server": "h:1", "batch.size": "0"}, `"batch.size"`},
		{map[string]string{"topic": "t", "properties.bootstrap.server": "h:1", "idle": "soon"}, `"idle"`},
		{map[string]string{"topic": "t", "properties.bootstrap.server": "h:1", "fields.kind": "x"}, `unrecognized demo option "fields.kind"`},
		{map[string]string{"topic": "t", "properties.bootstrap.server": "h:1", "topicz": "x"}, `unrecognized demo option "topicz"`},
	} {
		_, err := c.Validate(tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%v) = %v, want %q", tc.opts, err, tc.want)
			continue
		}
		if code := sqlerr.From(err).Code; code != sqlerr.InvalidParameterValue {
			t.Errorf("Validate(%v): SQLSTATE %s", tc.opts, code)
		}
	}
	_, err = c.Validate(map[string]string{"topic": "t", "properties.bootstrap.server": "h:1", "nope": "1"})
	if h := sqlerr.From(err).Hint; !strings.Contains(h, "properties.bootstrap.server") || !strings.Contains(h, "scan.startup.mode") {
		t.Errorf("hint does not list the valid options: %q", h)
	}
}

func TestMaskAndFormat(t *testing.T) {
	c := testConnector()
	opts := map[string]string{"connector": "demo", "topic": "it's", "properties.sasl.password": "hunter2"}
	got := c.FormatWith(opts)
	want := `connector = 'demo', properties.sasl.password = '********', topic = 'it''s'`
	if got != want {
		t.Fatalf("FormatWith = %s, want %s", got, want)
	}
	if strings.Contains(got, "hunter2") {
		t.Fatal("secret shown")
	}
}

func TestRegistry(t *testing.T) {
	if _, err := NewRegistry(testConnector(), testConnector()); err == nil {
		t.Fatal("duplicate connector accepted")
	}
	sink := &Connector{Name: "hole", Sink: func(*SinkConfig) (func(*stream.Env, *stream.SinkInput) (stream.SinkWriter, error), error) {
		return nil, nil
	}}
	src := testConnector()
	src.Source = func(*SourceConfig) (stream.SourceSpec, error) { return nil, nil }
	r, err := NewRegistry(src, sink)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := r.Lookup("source", map[string]string{"Connector": " DEMO "}); err != nil || c != src {
		t.Fatalf("Lookup demo = %v, %v", c, err)
	}
	_, err = r.Lookup("source", map[string]string{"connector": "hole"})
	if e := sqlerr.From(err); e.Code != sqlerr.InvalidParameterValue || !strings.Contains(e.Hint, "demo") || strings.Contains(e.Hint, "hole") {
		t.Fatalf("a sink looked up as a source: %v (hint %q)", err, e.Hint)
	}
	if err := src.CheckFormat("PLAIN", "CSV"); sqlerr.From(err).Code != sqlerr.FeatureNotSupported {
		t.Fatalf("CheckFormat(PLAIN CSV) = %v", err)
	}
	if err := src.CheckFormat("", ""); err == nil {
		t.Fatal("missing FORMAT accepted")
	}
	if err := src.CheckFormat("plain", "json"); err != nil {
		t.Fatal(err)
	}
}
