// Failure classes, backoff, the fault-injection hook and the ordered prefetcher.
#include "voiceman/pipeline/retry.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "voiceman/core/errors.h"
#include "voiceman/pipeline/fault_injection.h"
#include "voiceman/pipeline/prefetch.h"

namespace voiceman::pipeline {
namespace {

using manifest::ErrorClass;

template <typename E>
ErrorClass class_of(E error) {
  return classify(std::make_exception_ptr(error));
}

TEST(Retry, ClassifiesErrors) {
  EXPECT_EQ(class_of(MediaError("x")), ErrorClass::permanent);
  EXPECT_EQ(class_of(OutOfMemoryError("x")), ErrorClass::transient);
  EXPECT_EQ(class_of(DeviceError("x")), ErrorClass::transient);
  EXPECT_EQ(class_of(IoError("x")), ErrorClass::transient);
  EXPECT_EQ(class_of(std::bad_alloc()), ErrorClass::transient);
  EXPECT_EQ(class_of(IntegrityError("x")), ErrorClass::integrity);
  EXPECT_EQ(class_of(std::logic_error("x")), ErrorClass::permanent);
  EXPECT_THROW(class_of(ConfigError("x")), ConfigError);  // concerns the whole run
  EXPECT_THROW(class_of(ModelError("x")), ModelError);
}

TEST(Retry, BackoffRepeatsItsLastDelay) {
  const RetryPolicy p;
  EXPECT_EQ(p.max_retries, 3);
  EXPECT_EQ(p.delay_before(1), 5);
  EXPECT_EQ(p.delay_before(2), 15);
  EXPECT_EQ(p.delay_before(3), 30);
  EXPECT_EQ(p.delay_before(7), 30);
}

TEST(FaultInjection, ParsesSpecs) {
  const FaultSpec a = parse_fault_spec("transient:*.m4a:2");
  EXPECT_TRUE(a.transient);
  EXPECT_EQ(a.glob, "*.m4a");
  EXPECT_EQ(a.count, 2);
  EXPECT_EQ(a.stage, "decode");
  const FaultSpec b = parse_fault_spec("permanent:sub/x.wav:1:write");
  EXPECT_FALSE(b.transient);
  EXPECT_EQ(b.stage, "write");
  for (const char* bad : {"", "transient", "transient:*:0", "transient:*:x", "sometimes:*:1",
                          "transient::1", "transient:*:1:dance", "transient:*:1:write:x"})
    EXPECT_THROW(parse_fault_spec(bad), ConfigError) << bad;
}

TEST(FaultInjection, FailsMatchingInputsNTimes) {
  FaultInjector f(parse_fault_spec("transient:call*.m4a:2"));
  EXPECT_NO_THROW(f.maybe_fail("decode", "other.m4a"));
  EXPECT_NO_THROW(f.maybe_fail("hash", "dir/call 1.m4a"));              // other stage
  EXPECT_THROW(f.maybe_fail("decode", "dir/call 1.m4a"), DeviceError);  // by file name
  EXPECT_THROW(f.maybe_fail("decode", "dir/call 1.m4a"), DeviceError);
  EXPECT_NO_THROW(f.maybe_fail("decode", "dir/call 1.m4a"));       // N used up
  EXPECT_THROW(f.maybe_fail("decode", "call2.m4a"), DeviceError);  // counted per input
  FaultInjector p(parse_fault_spec("permanent:dir/*:1"));
  EXPECT_THROW(p.maybe_fail("decode", "dir/a.wav"), MediaError);
  FaultInjector off(std::nullopt);
  EXPECT_NO_THROW(off.maybe_fail("decode", "anything.wav"));
}

TEST(Prefetch, DeliversInOrderWithBoundedLookahead) {
  constexpr size_t kCount = 40, kLookahead = 3;
  std::atomic<bool> stop{false};
  std::atomic<int> in_flight{0}, max_in_flight{0};
  std::atomic<size_t> delivered{0};
  std::atomic<size_t> max_ahead{0};
  {
    Prefetcher<size_t> p(
        kCount, 4, kLookahead, 1e9,
        [&](size_t i) {
          const int now = ++in_flight;
          for (int seen = max_in_flight;
               now > seen && !max_in_flight.compare_exchange_weak(seen, now);) {
          }
          const size_t ahead = i - delivered.load();
          for (size_t seen = max_ahead;
               ahead > seen && !max_ahead.compare_exchange_weak(seen, ahead);) {
          }
          std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 3000));
          --in_flight;
          return i;
        },
        [](size_t) { return 0.0; }, stop);
    for (size_t expect = 0; expect < kCount; ++expect) {
      const auto got = p.next();
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(*got, expect);
      delivered = expect + 1;
    }
    EXPECT_FALSE(p.next().has_value());
    EXPECT_TRUE(p.exhausted());
  }
  EXPECT_GT(max_in_flight.load(), 1);           // workers really ran in parallel
  EXPECT_LT(max_ahead.load(), kLookahead + 1);  // never more than the look-ahead in hand
}

TEST(Prefetch, WorkersRunAtTheRequestedLowerPriority) {
  std::atomic<bool> stop{false};
  const int base = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  for (const int nice : {0, 10}) {
    Prefetcher<int> p(
        6, 3, 6, 1e9,
        [](size_t) { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())); },
        [](int) { return 0.0; }, stop, nice);
    for (int i = 0; i < 6; ++i) {
      const auto got = p.next();
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(*got, std::min(19, base + nice)) << "nice " << nice;
    }
  }
  // ...and the caller's own priority is untouched.
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid())), base);
}

TEST(Prefetch, HoldsBackWhenReadyAudioIsLarge) {
  std::atomic<bool> stop{false};
  std::atomic<size_t> started{0};
  Prefetcher<int> p(
      10, 2, 10, 5.0,
      [&](size_t) {
        ++started;
        return 1;
      },
      [](int) { return 10.0; }, stop);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // One ready result of 10 s already exceeds the 5 s budget: at most the two workers'
  // first jobs may have run.
  EXPECT_LE(started.load(), 2u);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.next().has_value());
}

TEST(Prefetch, StopEndsDelivery) {
  std::atomic<bool> stop{false};
  Prefetcher<int> p(
      1000, 2, 4, 1e9,
      [&](size_t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        return 1;
      },
      [](int) { return 0.0; }, stop);
  ASSERT_TRUE(p.next().has_value());
  stop = true;
  int more = 0;
  while (p.next().has_value()) ++more;
  EXPECT_LT(more, 10);
  EXPECT_FALSE(p.exhausted());
}

}  // namespace
}  // namespace voiceman::pipeline
