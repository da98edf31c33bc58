package format

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"streamsql/sql/sqlerr"
)

// schemaRegistry fetches Avro schemas by id from a Confluent-compatible
// schema registry (GET {url}/schemas/ids/{id}) and keeps them: an id names
// one schema forever, so an entry never goes stale.
type schemaRegistry struct {
	urls       []string
	user, pass string
	client     *http.Client

	mu     sync.Mutex
	byID   map[int32]string
	failed map[int32]fetchFailure // ids that failed recently, to not hammer the registry
}

// registryTimeout bounds one registry request when the caller gives no
// deadline of its own.
const registryTimeout = 10 * time.Second

func newSchemaRegistry(spec Spec) (*schemaRegistry, error) {
	raw := strings.TrimSpace(spec.Options["schema.registry"])
	if raw == "" {
		return nil, sqlerr.New(sqlerr.InvalidParameterValue, "%s needs option \"schema.registry\"", spec).
			WithHint("Give the schema registry's URL, e.g. schema.registry = 'http://localhost:8081'.")
	}
	r := &schemaRegistry{
		user:   spec.Options["schema.registry.username"],
		pass:   spec.Options["schema.registry.password"],
		client: &http.Client{Timeout: registryTimeout},
		byID:   map[int32]string{},
		failed: map[int32]fetchFailure{},
	}
	for _, u := range strings.Split(raw, ",") {
		u = strings.TrimRight(strings.TrimSpace(u), "/")
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, sqlerr.New(sqlerr.InvalidParameterValue, "invalid schema.registry URL %q", u).
				WithHint("The URL starts with http:// or https://.")
		}
		r.urls = append(r.urls, u)
	}
	return r, nil
}

// schema returns the schema text of id, fetching it on first use.
func (r *schemaRegistry) schema(ctx context.Context, id int32) (string, error) {
	r.mu.Lock()
	s, ok := r.byID[id]
	f, failed := r.failed[id]
	r.mu.Unlock()
	if ok {
		return s, nil
	}
	if failed && time.Since(f.at) < retryAfter {
		return "", f.err
	}
	var lastErr error
	for _, u := range r.urls {
		s, err := r.fetch(ctx, u, id)
		if err == nil {
			r.mu.Lock()
			r.byID[id] = s
			delete(r.failed, id)
			r.mu.Unlock()
			return s, nil
		}
		lastErr = err
		if e, ok := err.(*sqlerr.Error); ok && e.Code == sqlerr.UndefinedObject {
			break // the registry answered: no such schema
		}
	}
	r.mu.Lock()
	r.failed[id] = fetchFailure{at: time.Now(), err: lastErr}
	r.mu.Unlock()
	return "", lastErr
}

// fetchFailure is a failed look-up, answered again without asking the
// registry for retryAfter.
type fetchFailure struct {
	at  time.Time
	err error
}

const retryAfter = time.Second

// call sends one request to the registry at base, with the registry's
// credentials, and reads at most limit bytes of the answer. An error is
// the registry's failure to answer (ConnectionFailure), or a request that
// cannot be made (InvalidParameterValue).
func (r *schemaRegistry) call(ctx context.Context, method, base, path string, body []byte, limit int64) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return nil, nil, sqlerr.New(sqlerr.InvalidParameterValue, "schema registry request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	}
	req.Header.Set("Accept", "application/vnd.schemaregistry.v1+json, application/json")
	if r.user != "" || r.pass != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s: %v", base, err)
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	resp.Body.Close()
	if err != nil {
		return nil, nil, sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s: %v", base, err)
	}
	return resp, answer, nil
}

// unreachable says whether err is a registry's failure to answer, after
// which the next URL is tried, rather than a request that cannot be made.
func unreachable(err error) bool { return sqlerr.Code(err) == sqlerr.ConnectionFailure }

func (r *schemaRegistry) fetch(ctx context.Context, base string, id int32) (string, error) {
	resp, body, err := r.call(ctx, http.MethodGet, base, fmt.Sprintf("/schemas/ids/%d", id), nil, 16<<20)
	if err != nil {
		return "", err
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return "", sqlerr.New(sqlerr.UndefinedObject, "schema %d not found in the schema registry", id)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", sqlerr.New(sqlerr.InvalidAuthorizationSpec, "schema registry %s refused the credentials (%s)", base, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return "", sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s answered %s for schema %d", base, resp.Status, id)
	}
	var out struct {
		Schema     string `json:"schema"`
		SchemaType string `json:"schemaType"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return "", sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s: invalid answer for schema %d: %v", base, id, err)
	}
	if out.SchemaType != "" && !strings.EqualFold(out.SchemaType, "AVRO") {
		return "", sqlerr.New(sqlerr.DatatypeMismatch, "schema %d is a %s schema, not Avro", id, out.SchemaType)
	}
	return out.Schema, nil
}

// latest returns the latest schema registered under subject
// (GET {url}/subjects/{subject}/versions/latest).
func (r *schemaRegistry) latest(ctx context.Context, subject string) (int32, string, error) {
	var lastErr error
	for _, base := range r.urls {
		resp, body, err := r.call(ctx, http.MethodGet, base, "/subjects/"+url.PathEscape(subject)+"/versions/latest", nil, 16<<20)
		switch {
		case err != nil && unreachable(err):
			lastErr = err
			continue
		case err != nil:
			return 0, "", err
		case resp.StatusCode == http.StatusNotFound:
			return 0, "", sqlerr.New(sqlerr.UndefinedObject, "subject %q not found in the schema registry", subject)
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return 0, "", sqlerr.New(sqlerr.InvalidAuthorizationSpec, "schema registry %s refused the credentials (%s)", base, resp.Status)
		case resp.StatusCode != http.StatusOK:
			lastErr = sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s answered %s for subject %q", base, resp.Status, subject)
			continue
		}
		var out struct {
			ID         int32  `json:"id"`
			Schema     string `json:"schema"`
			SchemaType string `json:"schemaType"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return 0, "", sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s: invalid answer for subject %q: %v", base, subject, err)
		}
		if out.SchemaType != "" && !strings.EqualFold(out.SchemaType, "AVRO") {
			return 0, "", sqlerr.New(sqlerr.DatatypeMismatch, "subject %q holds a %s schema, not Avro", subject, out.SchemaType)
		}
		return out.ID, out.Schema, nil
	}
	return 0, "", lastErr
}

// register registers schema under subject (POST
// {url}/subjects/{subject}/versions), as a producer's serializer does, and
// returns its id. Registering a schema the subject already has answers its
// existing id.
func (r *schemaRegistry) register(ctx context.Context, subject, schema string) (int32, error) {
	body, _ := json.Marshal(map[string]string{"schema": schema})
	var lastErr error
	for _, base := range r.urls {
		resp, answer, err := r.call(ctx, http.MethodPost, base, "/subjects/"+url.PathEscape(subject)+"/versions", body, 1<<20)
		if err != nil && !unreachable(err) {
			return 0, err
		}
		var out struct {
			ID      int32  `json:"id"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(answer, &out)
		switch {
		case err != nil:
			lastErr = err
			continue
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return 0, sqlerr.New(sqlerr.InvalidAuthorizationSpec, "schema registry %s refused the credentials (%s)", base, resp.Status)
		case resp.StatusCode == http.StatusConflict:
			return 0, sqlerr.New(sqlerr.DatatypeMismatch, "schema registry %s refused the schema of subject %q as incompatible: %s", base, subject, out.Message)
		case resp.StatusCode == http.StatusUnprocessableEntity:
			return 0, sqlerr.New(sqlerr.InvalidParameterValue, "schema registry %s refused the schema of subject %q: %s", base, subject, out.Message)
		case resp.StatusCode != http.StatusOK:
			lastErr = sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s answered %s registering subject %q", base, resp.Status, subject)
			continue
		case out.ID == 0:
			lastErr = sqlerr.New(sqlerr.ConnectionFailure, "schema registry %s: no schema id in its answer for subject %q", base, subject)
			continue
		}
		return out.ID, nil
	}
	return 0, lastErr
}
