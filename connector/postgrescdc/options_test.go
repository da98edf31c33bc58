package postgrescdc

import (
	"errors"
	"strings"
	"testing"

	"streamsql/connector"
	"streamsql/sql/sqlerr"
	"streamsql/sql/types"
)

// TestOptions checks the option schema as CREATE TABLE sees it: bad
// options are 22023 naming the option, a table without a primary key
// 42P16, and the password is a secret.
func TestOptions(t *testing.T) {
	base := func() map[string]string {
		return map[string]string{"connector": "postgres-cdc", "hostname": "127.0.0.1", "username": "u", "password": "pw",
			"database.name": "db", "table.name": "t"}
	}
	c := Connector()
	cols := []connector.Column{{Name: "id", Type: types.TInt8}}
	for _, tc := range []struct {
		set       map[string]string
		key       []int
		code, msg string
	}{
		{set: map[string]string{"prot": "5432"}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"prot"`},
		{set: map[string]string{"port": "70000"}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"port"`},
		{set: map[string]string{"ssl.mode": "sometimes"}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"ssl.mode"`},
		{set: map[string]string{"publication.create.enable": "maybe"}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"publication.create.enable"`},
		{set: map[string]string{"table.name": ""}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"table.name"`},
		{set: map[string]string{"slot.name": "Bad-Slot"}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"slot.name"`},
		{set: map[string]string{}, key: nil, code: sqlerr.InvalidTableDefinition, msg: "PRIMARY KEY"},
		{set: map[string]string{"hostname": ""}, key: []int{0}, code: sqlerr.InvalidParameterValue, msg: `"hostname"`},
	} {
		o := base()
		for k, v := range tc.set {
			o[k] = v
		}
		opts, err := c.Validate(o)
		if err == nil {
			_, err = c.Source(&connector.SourceConfig{Relation: "t", RelationID: 7, Columns: cols, PrimaryKey: tc.key, Options: opts})
		}
		var se *sqlerr.Error
		if !errors.As(err, &se) || se.Code != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%v: got %v, want %s naming %s", tc.set, err, tc.code, tc.msg)
		}
	}
	o := base()
	delete(o, "username")
	if _, err := c.Validate(o); err == nil || !strings.Contains(err.Error(), "username") {
		t.Errorf("missing username: %v", err)
	}
	opts, err := c.Validate(base())
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.Source(&connector.SourceConfig{Relation: "Orders", RelationID: 16384, Columns: cols, PrimaryKey: []int{0}, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*Spec)
	if s.slot != "streamsql_orders_16384" || s.port != 5432 || s.schema != "public" || s.publication != "streamsql_publication" || !s.createPub {
		t.Errorf("defaults: %+v", s)
	}
	secret := false
	for _, op := range c.Options {
		if op.Name == "password" {
			secret = op.Secret
		}
	}
	if !secret {
		t.Error("password is not a secret")
	}
}
