// Coarse-grained parallelism for the training passes: a few slices of work,
// one per thread, with a single join.
//
// Why not an OpenMP parallel region: libgomp's threads spin while they wait
// for each other, and on a machine shared with other busy processes (two
// cores, a compiler running) a spinning thread burns the time slice its
// partner needs; a training step then took three to five times longer on two
// threads than on one. std::thread's join waits passively, so a second
// thread helps when a core is free and costs little when none is.
//
// Every slice runs with OpenMP limited to one thread (omp_set_num_threads(1)
// on its thread, restored on the caller's), so the oneDNN GEMMs and row loops
// inside a slice do not start teams of their own.
#ifndef CHATBOT_BERT_PARALLEL_SLICES_H_
#define CHATBOT_BERT_PARALLEL_SLICES_H_

#include <omp.h>

#include <exception>
#include <system_error>
#include <thread>
#include <vector>

namespace chatbot::bert {

// Calls fn(slice) for slice in [0, slices): slice 0 on the calling thread,
// the others on threads of their own. Rethrows the first slice's exception
// (by slice order) after all have finished.
template <typename F>
void RunSlices(int slices, F&& fn) {
  if (slices <= 1) {
    fn(0);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<size_t>(slices));
  auto run = [&](int slice) {
    try {
      fn(slice);
    } catch (...) {
      errors[static_cast<size_t>(slice)] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(slices) - 1);
  int started = 1;  // slices [1, started) run on threads of their own
  try {
    for (; started < slices; ++started) {
      threads.emplace_back([&run, slice = started] {
        omp_set_num_threads(1);
        run(slice);
      });
    }
  } catch (const std::system_error&) {
    // No thread to be had: the caller runs the remaining slices itself.
  }
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  run(0);
  for (int slice = started; slice < slices; ++slice) run(slice);
  omp_set_num_threads(saved);
  for (std::thread& t : threads) t.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace chatbot::bert

#endif  // CHATBOT_BERT_PARALLEL_SLICES_H_
