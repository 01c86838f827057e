#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

std::atomic<size_t> g_allocations{0};

}  // namespace

// Not inlined, so that GCC pairs new and delete by name and does not see malloc meet a delete.
__attribute__((noinline)) void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace zaiproxy::bench {

size_t allocations_so_far() { return g_allocations.load(std::memory_order_relaxed); }

void report_per_event(benchmark::State& state, size_t events, size_t allocations) {
  const auto total = static_cast<double>(state.iterations()) * static_cast<double>(events);
  state.SetItemsProcessed(static_cast<int64_t>(total));
  state.counters["ns/event"] =
      benchmark::Counter(total, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["allocs/event"] = static_cast<double>(allocations) / total;
}

}  // namespace zaiproxy::bench
