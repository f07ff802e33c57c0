#pragma once
// Time and randomness are passed in, so the library stays deterministic in tests.

#include <chrono>
#include <cstdint>
#include <span>

namespace core {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(TimePoint t) : m_now(t) {}
  TimePoint now() const override { return m_now; }
  void advance(std::chrono::seconds d) { m_now += d; }

 private:
  TimePoint m_now;
};

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
};

}  // namespace core
