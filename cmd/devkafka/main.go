// Command devkafka runs a small Kafka broker for trying StreamSQL's Kafka
// connector without a Kafka installation: franz-go's kfake, in memory,
// on one port, with topics created on demand (the first produce or
// metadata request that names a topic creates it).
//
//	go run ./cmd/devkafka -port 9092 -partitions 4
//
// Any Kafka client works against it (kcat, sarama, franz-go,
// librdkafka). Data lives in memory and is gone when it stops, unless
// -data names a directory to persist it in.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 9092, "port to listen on (127.0.0.1)")
	partitions := flag.Int("partitions", 4, "partitions of topics created on demand")
	topics := flag.String("topics", "", "comma-separated topics to create at start")
	data := flag.String("data", "", "directory to persist topics in (default: memory only)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	opts := []kfake.Opt{kfake.Ports(*port), kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(*partitions)}
	if *topics != "" {
		opts = append(opts, kfake.SeedTopics(int32(*partitions), strings.Split(*topics, ",")...))
	}
	if *data != "" {
		opts = append(opts, kfake.DataDir(*data))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		log.Error("start broker", "err", err)
		os.Exit(1)
	}
	fmt.Printf("devkafka listening on %s (topics are created on demand with %d partitions)\n",
		strings.Join(c.ListenAddrs(), ","), *partitions)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	c.Close()
}
