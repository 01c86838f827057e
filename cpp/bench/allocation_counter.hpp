// Counts heap allocations in the benchmark binary (operator new is replaced in the .cpp), so a
// benchmark can report allocations per event: the steady state of the pipeline must have none.
// Also the per-event counters every benchmark reports.
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>

namespace zaiproxy::bench {

size_t allocations_so_far();

// Items processed plus the ns/event and allocs/event counters, for `events` per iteration and
// `allocations` made across all iterations.
void report_per_event(benchmark::State& state, size_t events, size_t allocations);

}  // namespace zaiproxy::bench
