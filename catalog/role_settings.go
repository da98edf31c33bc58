package catalog

// Settings of every role: ALTER ROLE ALL SET name = value, and ALTER ROLE
// ALL IN DATABASE d SET name = value for every role's connections to
// database d. They are the rows of pg_db_role_setting whose setrole is 0;
// a role's own settings are in Role.Settings and Role.DatabaseSettings.
// A session starts with them in PostgreSQL's order, each overriding the
// ones before: every role's, every role's in the database, the role's,
// the role's in the database; the client's startup parameters win over
// all of them.

import (
	"encoding/json"
	"fmt"
	"maps"
)

// keyAllRoleSettings holds the settings of all roles, JSON: database name
// ("" for every database) -> setting name -> value.
var keyAllRoleSettings = []byte("cmeta/allrolesettings")

// AllRoleSettings returns the settings of all roles in database (""
// for those of every database); the caller may keep it.
func (c *Catalog) AllRoleSettings(database string) map[string]string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return maps.Clone(c.allRoleSettings[database])
}

// AllRoleSettingsDatabases lists the databases ("" for every one) that
// have settings of all roles.
func (c *Catalog) AllRoleSettingsDatabases() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []string
	for d := range c.allRoleSettings {
		out = append(out, d)
	}
	return out
}

// SetAllRoleSettings replaces the settings of all roles in database (""
// for every database) with set; an empty set removes them.
func (c *Catalog) SetAllRoleSettings(database string, set map[string]string) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	c.mu.RLock()
	all := make(map[string]map[string]string, len(c.allRoleSettings)+1)
	for d, m := range c.allRoleSettings {
		all[d] = maps.Clone(m)
	}
	c.mu.RUnlock()
	if len(set) == 0 {
		delete(all, database)
	} else {
		all[database] = maps.Clone(set)
	}
	b, err := json.Marshal(all)
	if err != nil {
		return err
	}
	txn := c.db.Begin()
	if len(all) == 0 {
		err = txn.Delete(keyAllRoleSettings)
	} else {
		err = txn.Set(keyAllRoleSettings, b)
	}
	if err == nil {
		err = txn.Commit()
	} else {
		txn.Rollback()
	}
	if err != nil {
		return fmt.Errorf("catalog: settings of all roles: %w", err)
	}
	c.mu.Lock()
	c.allRoleSettings = all
	c.mu.Unlock()
	c.version.Add(1)
	return nil
}
