package kafka_test

import (
	"bytes"
	"fmt"
	"regexp"
	"testing"
	"time"

	"streamsql/internal/sqltest"
)

// TestKafkaLag: each partition's lag (its high watermark minus the offset
// the job reached) is in /metrics, and once the job has read everything
// it is 0, as is SHOW JOBS' Source lag.
func TestKafkaLag(t *testing.T) {
	_, addr := brokerTopics(t, 2, "lagt")
	p := producer(t, addr, nil)
	for i := 0; i < 10; i++ {
		send(t, p, "lagt", int32(i%2), "", fmt.Sprintf(`{"v": %d}`, i))
	}
	srv, conn := startServer(t)
	sqltest.Exec(t, conn,
		fmt.Sprintf(`CREATE SOURCE lagt (v int) WITH (connector = 'kafka', topic = 'lagt', properties.bootstrap.server = '%s')
			FORMAT PLAIN ENCODE JSON`, addr),
		"CREATE MATERIALIZED VIEW lagv AS SELECT count(*) AS n FROM lagt")
	sqltest.Eventually(t, conn, "SELECT n FROM lagv", "10")
	re := regexp.MustCompile(`(?m)^streamsql_source_lag\{job="lagv",id="\d+",split="lagt/(\d)"\} (\d+)$`)
	var got [][][]byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var buf bytes.Buffer
		if err := srv.Engine.WriteMetrics(&buf); err != nil {
			t.Fatal(err)
		}
		got = re.FindAllSubmatch(buf.Bytes(), -1)
		if len(got) == 2 && string(got[0][2]) == "0" && string(got[1][2]) == "0" {
			break
		}
	}
	if len(got) != 2 || string(got[0][1]) != "0" || string(got[1][1]) != "1" || string(got[0][2]) != "0" || string(got[1][2]) != "0" {
		t.Fatalf("lag metrics: %q", got)
	}
	eventuallyJob(t, conn, "lagv", "Source lag", "0")
}
