// sochdb/core/thread_pool.hpp — a small fixed-size pool of std::jthread workers.
//
// `submit` queues a callable and returns a std::future for its result (exceptions travel through
// the future). `parallel_for` splits an index range over the workers and the calling thread and
// rethrows the first exception after every chunk has finished. Destruction finishes the queued
// work, then joins.
//
// Thread safety: every member may be called from any thread, including from inside a task,
// except that a task must not wait on a future of the same pool when all workers may be busy
// (parallel_for avoids this by working on the caller's thread too).
#pragma once

#include <sochdb/core/error.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <type_traits>
#include <vector>

SOCHDB_BEGIN_NAMESPACE

class thread_pool {
 public:
  /// `threads` workers; 0 means std::thread::hardware_concurrency() (at least 1).
  explicit thread_pool(std::size_t threads = 0) {
    if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
      workers_.emplace_back([this](std::stop_token st) { run(st); });
    }
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  ~thread_pool() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    workers_.clear();  // jthread joins; workers drain the queue before leaving
  }

  [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }

  /// Runs `f(args...)` on a worker; the future yields its result or exception.
  template <class F, class... Args>
  auto submit(F&& f, Args&&... args) -> std::future<std::invoke_result_t<F, Args...>> {
    using R = std::invoke_result_t<F, Args...>;
    auto task = std::make_shared<std::packaged_task<R()>>(
        [fn = std::forward<F>(f), ... a = std::forward<Args>(args)]() mutable -> R {
          return std::invoke(std::move(fn), std::move(a)...);
        });
    std::future<R> fut = task->get_future();
    {
      std::lock_guard lk(mu_);
      if (stopping_) throw closed("thread_pool: submit after shutdown");
      queue_.emplace_back([task] { (*task)(); });
      ++pending_;
    }
    cv_.notify_one();
    return fut;
  }

  /// Calls `f(i)` for every i in [begin, end), in chunks, on the workers and the caller.
  /// Returns when all calls have finished; rethrows the first exception thrown.
  template <class F>
  void parallel_for(std::size_t begin, std::size_t end, F&& f) {
    if (begin >= end) return;
    std::size_t n = end - begin;
    std::size_t parts = std::min(n, size() + 1);
    std::size_t chunk = std::max<std::size_t>(1, std::min<std::size_t>(1024, n / (parts * 4) + 1));
    std::atomic<std::size_t> next{begin};
    std::exception_ptr first_error;
    std::mutex error_mu;
    auto body = [&] {
      for (;;) {
        std::size_t lo = next.fetch_add(chunk, std::memory_order_relaxed);
        if (lo >= end) return;
        std::size_t hi = std::min(end, lo + chunk);
        try {
          for (std::size_t i = lo; i < hi; ++i) f(i);
        } catch (...) {
          std::lock_guard lk(error_mu);
          if (!first_error) first_error = std::current_exception();
          next.store(end, std::memory_order_relaxed);  // stop handing out work
          return;
        }
      }
    };
    std::vector<std::future<void>> helpers;
    helpers.reserve(parts - 1);
    for (std::size_t i = 0; i + 1 < parts; ++i) helpers.push_back(submit(body));
    body();
    for (auto& h : helpers) h.get();
    if (first_error) std::rethrow_exception(first_error);
  }

  /// Blocks until the queue is empty and no task is running.
  void wait_idle() {
    std::unique_lock lk(mu_);
    idle_cv_.wait(lk, [this] { return pending_ == 0; });
  }

 private:
  void run(std::stop_token) {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job();  // packaged_task stores exceptions; nothing escapes
      {
        std::lock_guard lk(mu_);
        if (--pending_ == 0) idle_cv_.notify_all();
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> queue_;
  std::size_t pending_ = 0;
  bool stopping_ = false;
  std::vector<std::jthread> workers_;  // last: joined before the members above are destroyed
};

SOCHDB_END_NAMESPACE
