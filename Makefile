# StreamSQL build and test entry points.
GO ?= go
BIN := bin/streamsqld

.PHONY: build run test lint bench bench-kafka bench-check bench-micro bench-pgbench bench-tables bench-match-recognize fmt clean slt console console-screenshots

build: console
	$(GO) build -o $(BIN) ./cmd/streamsqld

# The web console's front-end (console/web): npm ci from the lock file,
# then esbuild bundles web/src into console/dist, which streamsqld embeds.
# Both steps run only when their inputs changed.
CONSOLE_WEB := console/web
CONSOLE_MODULES := $(CONSOLE_WEB)/node_modules/.package-lock.json
CONSOLE_DIST := console/dist/app.js

$(CONSOLE_MODULES): $(CONSOLE_WEB)/package.json $(CONSOLE_WEB)/package-lock.json
	cd $(CONSOLE_WEB) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_DIST): $(CONSOLE_MODULES) $(CONSOLE_WEB)/build.mjs $(wildcard $(CONSOLE_WEB)/src/*)
	cd $(CONSOLE_WEB) && node build.mjs

console: $(CONSOLE_DIST)

# The console's browser test, writing its screenshots into docs/images
# (the ones docs/console.md shows).
console-screenshots: console
	STREAMSQL_CONSOLE_SCREENSHOTS=$(CURDIR)/docs/images $(GO) test -count=1 -run TestConsoleInBrowser -v ./console

run: build
	./$(BIN) -listen 127.0.0.1:5433 -data ./data

# go vet and staticcheck (pinned in go.mod as a tool), then every package's
# tests including the sqllogictest suite over the wire (set SLT_PG_DSN to
# also check the .slt files against PostgreSQL).
test: console lint
	$(GO) test -count=1 -timeout 20m ./...

lint:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# The Nexmark harness (bench/, its own module; DuckDB through cgo with its
# Arrow interface): every query through the engine and through DuckDB, the
# table into bench/results/latest.{md,json}. NEXMARK_ARGS adds options,
# e.g. NEXMARK_ARGS='-events 1000000 -queries q0,q1'.
NEXMARK_BIN := bin/nexmark
NEXMARK_ARGS ?=

$(NEXMARK_BIN): FORCE
	cd bench && $(GO) build -tags duckdb_arrow -o ../$(NEXMARK_BIN) ./cmd/nexmark

bench: $(NEXMARK_BIN) bench-pgbench bench-tables bench-kafka bench-match-recognize
	cd bench && ../$(NEXMARK_BIN) -out results $(NEXMARK_ARGS)

# MATCH_RECOGNIZE in a view over the Nexmark bids (three rising bids per
# auction within 10 seconds), in bids per CPU-second of the whole process,
# printed with the load average it ran at.
bench-match-recognize:
	@echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg)"
	$(GO) test ./engine -run '^$$' -bench BenchmarkMatchRecognizeViewBids -benchtime 2x -count 3
	@echo "load average: $$(cut -d' ' -f1-3 /proc/loadavg)"

# The Kafka mode alone: the bids produced into an in-process broker as
# JSON and as Avro, q0 read back through a Kafka source, next to q0 over
# the generator; the table into bench/results/kafka/latest.{md,json}.
# KAFKA_ARGS adds options, e.g. KAFKA_ARGS='-kafka-events 1000000'.
KAFKA_ARGS ?=
bench-kafka: $(NEXMARK_BIN)
	cd bench && ../$(NEXMARK_BIN) -queries none -duckdb=false -kafka json,avro -out results/kafka $(KAFKA_ARGS)

# OLTP next to PostgreSQL 15: pgbench with 50 and 200 clients doing a
# single-row INSERT plus a read of a view, TPS and latency percentiles into
# bench/results/pgbench.md. PGBENCH_SECS sets the length of each run.
PGBENCH_SECS ?= 20
bench-pgbench:
	bench/pgbench/run.sh $(PGBENCH_SECS)

# Tables next to PostgreSQL 15: COPY, multi-row INSERT and single-row
# freshness into a table under an aggregate view (bench/results/tables.md).
# TABLES_ROWS sets the rows of each COPY phase.
bench-tables:
	bench/tables/run.sh $(TABLES_ROWS)

# A small run of every query as a view, each result compared with
# DuckDB's: fails on any difference (queries the engine refuses are listed).
bench-check: $(NEXMARK_BIN)
	cd bench && $(GO) vet -tags duckdb_arrow ./... && $(GO) test -tags duckdb_arrow -count=1 ./...
	cd bench && ../$(NEXMARK_BIN) -events 200000 -sinks=false -latency=false -check -out $${TMPDIR:-/tmp}/nexmark-check

# The go test micro benchmarks of every package, one iteration each.
bench-micro:
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

FORCE:

# Run the sqllogictest files by hand against fresh servers.
slt: build
	$(GO) run ./cmd/slt -server ./$(BIN) testdata/sqllogic

fmt:
	gofmt -w $$(find . -name '*.go' -not -path './vendor/*')

clean:
	rm -rf bin data console/dist/app.js console/dist/app.css console/dist/index.html
