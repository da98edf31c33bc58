# StreamSQL build and test entry points.
GO ?= go
BIN := bin/streamsqld

.PHONY: build run test bench fmt clean slt

build:
	$(GO) build -o $(BIN) ./cmd/streamsqld

run: build
	./$(BIN) -listen 127.0.0.1:5433 -data ./data

# go vet, then every package's tests including the sqllogictest suite over
# the wire (set SLT_PG_DSN to also check the .slt files against PostgreSQL).
test:
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 20m ./...

bench:
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

# Run the sqllogictest files by hand against fresh servers.
slt: build
	$(GO) run ./cmd/slt -server ./$(BIN) testdata/sqllogic

fmt:
	gofmt -w $$(find . -name '*.go' -not -path './vendor/*')

clean:
	rm -rf bin data
