# LeadLex API gateway. `make run` to try it, `make test` to test it.
SHELL := /bin/bash
GO ?= go
STATICCHECK_VERSION := v0.8.2
SERVICES := eval "$$(.ci/services.sh)"

.PHONY: build run test lint bench fuzz migrate clean

## build: compile the gateway to bin/gateway
build:
	$(GO) build -o bin/gateway .

## run: the gateway in development mode with in-memory backends, the local delivery sink and a printed key
run: build
	GATEWAY_ENV=development DEV_PRINT_KEY=true DEV_SINK=true DATABASE_URL= SUPABASE_URL= REDIS_URL= ./bin/gateway serve

## test: every test against real PostgreSQL, Redis and Prometheus (started or installed if missing), with -race
test: lint
	$(SERVICES) && $(GO) test -race -count=1 -timeout 20m ./...

## lint: gofmt, go vet and staticcheck
lint:
	@unformatted=$$(gofmt -l $$(git ls-files -co --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## bench: throughput and latency of the gateway against bare echo baselines
bench:
	$(SERVICES) && $(GO) run ./cmd/loadbench

## fuzz: run each fuzz target for FUZZTIME (default 30s; FuzzHandlers drives the assembled server on memory and PostgreSQL); corpus entries that found bugs stay in testdata/fuzz
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzCheck -fuzztime=$(FUZZTIME) ./gateway/urlcheck
	$(GO) test -run='^$$' -fuzz=FuzzDecodeJSON -fuzztime=$(FUZZTIME) ./routes
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) ./gateway/signature
	$(SERVICES) && $(GO) test -run='^$$' -fuzz=FuzzHandlers -fuzztime=$(FUZZTIME) -parallel=1 ./gateway/server

## migrate: apply the SQL migrations to DATABASE_URL
migrate: build
	./bin/gateway migrate

clean:
	rm -rf bin
