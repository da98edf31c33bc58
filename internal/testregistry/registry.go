// Package testregistry is a Confluent schema registry stand-in for tests:
// an HTTP server that registers and serves real Avro schemas the way the
// registry's REST API does, and a helper that frames Avro datums in the
// Confluent wire format. No schema registry server is available where the
// tests run, and the decoders must still talk HTTP to something that
// answers like one.
package testregistry

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hamba/avro/v2"
)

// Registry is a running stand-in. POST /subjects/{subject}/versions
// registers a schema (answering its id, the same id for a schema already
// registered), GET /schemas/ids/{id} serves one, GET
// /subjects/{subject}/versions/latest the subject's latest version.
type Registry struct {
	srv      *httptest.Server
	mu       sync.Mutex
	schemas  []string
	subjects map[string][]int
	down     bool
	// hang, when set, holds every request until it is cleared or the
	// client gives up.
	hang chan struct{}
	held atomic.Int64
	// user and pass, when set, are the basic auth every request must carry.
	user, pass string
	fetches    atomic.Int64
	refused    atomic.Int64
}

// RequireAuth makes the registry refuse requests without basic auth of
// user and password (401), as a registry behind authentication does.
func (r *Registry) RequireAuth(user, password string) {
	r.mu.Lock()
	r.user, r.pass = user, password
	r.mu.Unlock()
}

// Fetches counts the schemas served by id (GET /schemas/ids/{id}).
func (r *Registry) Fetches() int64 { return r.fetches.Load() }

// Refused counts the requests answered 503 while the registry was down.
func (r *Registry) Refused() int64 { return r.refused.Load() }

// SetDown makes the registry answer every request with 503 Service
// Unavailable (down) or serve again.
func (r *Registry) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// SetHang makes the registry hold every request without an answer until
// SetHang(false) or the client gives up (a registry that accepts but
// does not answer), or answer again.
func (r *Registry) SetHang(hang bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case hang && r.hang == nil:
		r.hang = make(chan struct{})
	case !hang && r.hang != nil:
		close(r.hang)
		r.hang = nil
	}
}

// Held counts the requests SetHang holds now.
func (r *Registry) Held() int64 { return r.held.Load() }

// New starts a registry, closed when the test ends.
func New(t testing.TB) *Registry {
	r := &Registry{subjects: map[string][]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.SetHang(false)
		r.srv.Close()
	})
	return r
}

// Close stops the registry: later requests find nothing listening.
func (r *Registry) Close() { r.srv.Close() }

// URL is the registry's base URL.
func (r *Registry) URL() string { return r.srv.URL }

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	fail := func(status, code int, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error_code":%d,"message":%q}`, code, msg)
	}
	r.mu.Lock()
	down, user, pass, hang := r.down, r.user, r.pass, r.hang
	r.mu.Unlock()
	if hang != nil {
		// Read the body first: the server notices a client that gives up
		// only once the body is read.
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.held.Add(1)
		defer r.held.Add(-1)
		select {
		case <-hang:
		case <-req.Context().Done():
			return
		}
	}
	if u, p, ok := req.BasicAuth(); user != "" && (!ok || u != user || p != pass) {
		fail(http.StatusUnauthorized, 401, "Unauthorized")
		return
	}
	if down {
		r.refused.Add(1)
		fail(http.StatusServiceUnavailable, 50003, "unavailable")
		return
	}
	switch {
	case req.Method == http.MethodPost && strings.HasPrefix(req.URL.Path, "/subjects/") && strings.HasSuffix(req.URL.Path, "/versions"):
		var body struct {
			Schema string `json:"schema"`
		}
		if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
			fail(http.StatusUnprocessableEntity, 42201, "invalid schema")
			return
		}
		if _, err := avro.ParseWithCache(body.Schema, "", &avro.SchemaCache{}); err != nil {
			fail(http.StatusUnprocessableEntity, 42201, "invalid schema: "+err.Error())
			return
		}
		subject := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/subjects/"), "/versions")
		r.mu.Lock()
		id := 0
		for i, s := range r.schemas {
			if s == body.Schema {
				id = i + 1
			}
		}
		if id == 0 {
			r.schemas = append(r.schemas, body.Schema)
			id = len(r.schemas)
		}
		r.subjects[subject] = append(r.subjects[subject], id)
		r.mu.Unlock()
		fmt.Fprintf(w, `{"id":%d}`, id)
	case req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/versions/latest"):
		subject := strings.TrimSuffix(strings.TrimPrefix(req.URL.Path, "/subjects/"), "/versions/latest")
		r.mu.Lock()
		defer r.mu.Unlock()
		ids := r.subjects[subject]
		if len(ids) == 0 {
			fail(http.StatusNotFound, 40401, "Subject not found.")
			return
		}
		id := ids[len(ids)-1]
		out, _ := json.Marshal(map[string]any{"subject": subject, "version": len(ids), "id": id, "schema": r.schemas[id-1]})
		w.Write(out)
	case req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, "/schemas/ids/"):
		r.fetches.Add(1)
		id, err := strconv.Atoi(strings.TrimPrefix(req.URL.Path, "/schemas/ids/"))
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || id < 1 || id > len(r.schemas) {
			fail(http.StatusNotFound, 40403, "Schema not found")
			return
		}
		out, _ := json.Marshal(map[string]string{"schema": r.schemas[id-1]})
		w.Write(out)
	default:
		fail(http.StatusNotFound, 404, "not found")
	}
}

// Register posts schema under subject over HTTP, as a producer's
// serializer does, and returns its id.
func (r *Registry) Register(t testing.TB, subject, schema string) int32 {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"schema": schema})
	req, err := http.NewRequest(http.MethodPost, r.srv.URL+"/subjects/"+subject+"/versions", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	r.mu.Lock()
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	r.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ID int32 `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.ID == 0 {
		t.Fatalf("register %s: %v (status %s)", subject, err, resp.Status)
	}
	return out.ID
}

// Encoder frames values of one writer schema in the Confluent wire
// format: a zero byte, the schema id (4 bytes, big-endian), the datum.
type Encoder struct {
	id     int32
	schema avro.Schema
}

// NewEncoder parses schema, registered as id.
func NewEncoder(t testing.TB, id int32, schema string) *Encoder {
	t.Helper()
	s, err := avro.ParseWithCache(schema, "", &avro.SchemaCache{})
	if err != nil {
		t.Fatal(err)
	}
	return &Encoder{id: id, schema: s}
}

// Encode returns v (a map or a struct with avro tags) in the wire format.
func (e *Encoder) Encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := e.Append(nil, v)
	if err != nil {
		t.Fatalf("encode %v: %v", v, err)
	}
	return b
}

// Append appends v in the wire format to buf.
func (e *Encoder) Append(buf []byte, v any) ([]byte, error) {
	b, err := avro.Marshal(e.schema, v)
	if err != nil {
		return buf, err
	}
	buf = append(buf, 0, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(buf[len(buf)-4:], uint32(e.id))
	return append(buf, b...), nil
}
