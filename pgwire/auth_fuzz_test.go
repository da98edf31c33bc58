package pgwire

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"

	"streamsql/auth"
)

// roleMap is a RoleStore over fixed secrets, for protocol-level tests
// that run without the engine.
type roleMap map[string]string

func (m roleMap) RoleSecret(user string) (string, bool) { s, ok := m[user]; return s, ok }
func (m roleMap) IsMemberOf(user, role string) bool     { return user == role }

// FuzzStartupAndSASL feeds arbitrary bytes to a server whose rules ask
// every client for SCRAM-SHA-256: either from the very start of the
// connection (startup packets, SSLRequest, CancelRequest) or after a valid
// startup packet, as the client's SASL messages. The server must neither
// panic nor hang, must frame what it answers, and must never let an
// unauthenticated client reach ReadyForQuery.
func FuzzStartupAndSASL(f *testing.F) {
	startup := func(params map[string]string) []byte {
		b, _ := (&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersion30, Parameters: params}).Encode(nil)
		return b
	}
	msg := func(m pgproto3.FrontendMessage) []byte {
		b, _ := m.Encode(nil)
		return b
	}
	ssl := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), codeSSL)
	for _, s := range [][]byte{
		{},
		append([]byte{0}, startup(map[string]string{"user": "alice"})...),
		append([]byte{0}, append(ssl, startup(map[string]string{"user": "alice", "database": "d"})...)...),
		append([]byte{0}, ssl...),
		{0, 0, 0, 0, 8, 0, 3, 0, 0},
		{0, 0x7f, 0xff, 0xff, 0xff},
		{0, 0, 0, 0, 16, 4, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0, 0, 2},
		append([]byte{0}, startup(map[string]string{"user": ""})...),
		append([]byte{1}, msg(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=rOprNGfwEbeRWgbNEkqO")})...),
		append([]byte{1}, msg(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256-PLUS", Data: []byte("p=tls-server-end-point,,n=,r=x")})...),
		append([]byte{1}, msg(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("y,a=alice,n=,r=abc")})...),
		append([]byte{1}, append(msg(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=abc")}),
			msg(&pgproto3.SASLResponse{Data: []byte("c=biws,r=abc,p=dGVzdA==")})...)...),
		append([]byte{1}, msg(&pgproto3.SASLInitialResponse{AuthMechanism: "MD5"})...),
		{1, 'p', 0, 0, 0, 4},
		{1, 'p', 0, 0, 0x7f, 0xff, 'S'},
		{1, 'Q', 0, 0, 0, 13, 's', 'e', 'l', 'e', 'c', 't', ' ', '1', 0},
	} {
		f.Add(s)
	}
	v, err := auth.NewVerifier("wonder", 64) // few iterations: fuzzing, not security
	if err != nil {
		f.Fatal(err)
	}
	srv := NewServer(newFakeBackend(), Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: AuthConfig{HBA: mustHBA(f, "host all all all scram-sha-256\nlocal all all scram-sha-256\n"),
			Roles: roleMap{"alice": v.String()}},
		AuthenticationTimeout: 5 * time.Second,
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		afterStartup, data := data[0]&1 == 1, data[1:]
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.serveConn(context.Background(), server)
		}()
		go func() {
			if afterStartup {
				client.Write(startup(map[string]string{"user": "alice"}))
			}
			client.Write(data)
			time.Sleep(5 * time.Millisecond)
			client.Close()
		}()
		fe := pgproto3.NewFrontend(client, client)
		owed := 0
		if !afterStartup {
			owed = encryptionAnswers(data)
		}
		for {
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if owed > 0 {
				// The one-byte answer to SSLRequest or GSSENCRequest is
				// not a message.
				var b [1]byte
				if _, err := io.ReadFull(client, b[:]); err != nil {
					break
				}
				if b[0] != 'N' {
					t.Fatalf("server answered an encryption request with %q, want 'N'", b[0])
				}
				owed--
				continue
			}
			m, err := fe.Receive()
			if err == nil {
				if _, ok := m.(*pgproto3.ReadyForQuery); ok {
					t.Fatal("an unauthenticated client reached ReadyForQuery")
				}
				continue
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("server neither answered nor closed")
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "closed") {
				t.Fatalf("server sent a malformed message: %v", err)
			}
			break
		}
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Fatal("server did not release the connection")
		}
	})
}

func mustHBA(t testing.TB, text string) *auth.HBA {
	t.Helper()
	h, err := auth.ParseHBA(strings.NewReader(text), "test")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// encryptionAnswers is how many one-byte answers the server owes the
// encryption requests (SSLRequest, GSSENCRequest) that data starts with:
// one for each well-framed request, at most three (the fourth is refused).
func encryptionAnswers(data []byte) int {
	n := 0
	for len(data) >= 8 && n < 3 {
		l := int64(int32(binary.BigEndian.Uint32(data[0:4])))
		code := binary.BigEndian.Uint32(data[4:8])
		if code != codeSSL && code != codeGSSENC || l < 8 || l-4 > maxStartup || l > int64(len(data)) {
			break
		}
		n++
		data = data[l:]
	}
	return n
}
