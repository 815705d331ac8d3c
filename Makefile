# jellyguard — build, test, benchmark.
#
#   make test    everything CI runs: formatting, vet, golangci-lint, unit,
#                integration, fuzz seeds and end-to-end tests (installs what
#                it needs: golangci-lint, Chromium, the e2e npm packages)
#   make build   the binary in bin/
#   make bench   benchmarks against direct access and nginx (installs nginx, wrk)

GO            ?= go
GOBIN         ?= $(shell $(GO) env GOPATH)/bin
GOLANGCI_LINT := $(GOBIN)/golangci-lint
GOLANGCI_VER  := v2.15.0
BIN           := bin/jellyguard

.PHONY: all build test lint fmt-check vet unit e2e deps bench fuzz clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/jellyguard

test: deps fmt-check vet lint unit e2e

deps:
	@scripts/install-deps.sh test

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './e2e/sdk/node_modules/*')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

$(GOLANGCI_LINT):
	@echo "installing golangci-lint $(GOLANGCI_VER) (once per machine; a few minutes)"
	GOBIN=$(GOBIN) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VER)

# Unit and integration tests with the race detector; fuzz targets run their
# seed corpora as ordinary tests.
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /e2e)

# End-to-end tests drive the built binary (without -race: they stream 1 GiB).
e2e:
	$(GO) test -count=1 -timeout 20m ./e2e/...

# Short fuzzing sessions of every parser that reads attacker input.
fuzz:
	@scripts/fuzz.sh 30s

bench:
	@scripts/install-deps.sh bench
	$(GO) run ./bench
	$(GO) test -run '^$$' -bench 'Pipeline|LoginRefusals' -benchtime 30x ./bench/ ./internal/gateway/

clean:
	rm -rf bin
