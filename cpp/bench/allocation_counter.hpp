// Counts heap allocations in the benchmark binary (operator new is replaced in the .cpp), so a
// benchmark can report allocations per event: the steady state of the pipeline must have none.
#pragma once

#include <cstddef>

namespace zaiproxy::bench {

size_t allocations_so_far();

}  // namespace zaiproxy::bench
