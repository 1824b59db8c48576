// A small fork-join pool for host loops: parallel_for splits [0, n) into chunks and runs them on
// the pool's worker threads and the calling thread. BLAS keeps its own threads; this is for the
// loops around it (norms, attention, sampling, codec elementwise work).
#pragma once

#include <cstdint>
#include <functional>

namespace hs {

// Calls fn(begin, end) over disjoint ranges covering [0, n), each at least `grain` long (except
// the last), possibly concurrently; returns when all have run. The first exception thrown by fn
// is rethrown here. Calls from inside fn, or while another thread's parallel_for runs, execute
// serially on the calling thread (never deadlock).
void parallel_for(std::int64_t n, std::int64_t grain, const std::function<void(std::int64_t, std::int64_t)>& fn);

// Number of threads parallel_for uses (workers + caller).
int parallel_threads();

}  // namespace hs
