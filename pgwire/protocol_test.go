package pgwire

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestProtocol replays message exchanges from testdata/protocol. Commands:
//
//	connect                 a new connection, through startup
//	send [until=X]          send the messages of the input (one per line,
//	                        `Type {json}`), then print what comes back until
//	                        X: "ready" (one ReadyForQuery per Sync/Query
//	                        sent, the default), "close", or a message name
//	raw [until=X]           send the input's hex bytes as they are
//	recv [until=X]          only read
func TestProtocol(t *testing.T) {
	datadriven.Walk(t, "testdata/protocol", func(t *testing.T, path string) {
		ts := startServer(t, Options{MaxMessageSize: 1 << 20})
		var c *rawClient
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			until := "ready"
			if d.HasArg("until") {
				d.ScanArgs(t, "until", &until)
			}
			readyWanted := 0
			switch d.Cmd {
			case "connect":
				if c != nil {
					c.nc.Close()
				}
				c = dialRaw(t, ts.addr)
				c.startup()
				return "ok"
			case "send":
				for _, line := range strings.Split(d.Input, "\n") {
					if strings.TrimSpace(line) == "" {
						continue
					}
					m, err := parseFrontend(line)
					if err != nil {
						d.Fatalf(t, "%v", err)
					}
					switch m.(type) {
					case *pgproto3.Sync, *pgproto3.Query:
						readyWanted++
					}
					c.fe.Send(m)
				}
				c.flush()
			case "raw":
				b, err := hex.DecodeString(strings.Join(strings.Fields(d.Input), ""))
				if err != nil {
					d.Fatalf(t, "%v", err)
				}
				if _, err := c.nc.Write(b); err != nil {
					d.Fatalf(t, "%v", err)
				}
			case "recv":
				readyWanted = 1
			default:
				d.Fatalf(t, "unknown command %s", d.Cmd)
			}
			var out []string
			switch until {
			case "ready":
				if readyWanted == 0 {
					readyWanted = 1
				}
				out = c.readReady(readyWanted)
			case "close":
				out = c.readUntil(func(pgproto3.BackendMessage) bool { return false })
			default:
				if n, err := strconv.Atoi(until); err == nil {
					out = c.readUntil(func(pgproto3.BackendMessage) bool { n--; return n == 0 })
					break
				}
				out = c.readUntil(func(m pgproto3.BackendMessage) bool { return strings.HasPrefix(render(m), until) })
			}
			return strings.Join(out, "\n") + "\n"
		})
	})
}
