// clock.h — the two things the core must be given rather than take: the time and fresh ids.
// The server passes its system clock, the browser its own, the simulation a fake one.
#pragma once

#include <string>

#include "core/types.h"

namespace returns {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Millis now_ms() const = 0;
};

class IdSource {
 public:
  virtual ~IdSource() = default;
  // A fresh id that satisfies is_valid_id (a UUID in practice).
  virtual std::string next_id() = 0;
};

// A clock that only moves when told: tests and the deterministic simulation.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Millis start) : now_(start) {}
  Millis now_ms() const override { return now_; }
  void set(Millis t) { now_ = t; }
  void advance(Millis d) { now_ += d; }

 private:
  Millis now_;
};

// Deterministic ids "<prefix>-1", "<prefix>-2", …
class SequentialIds final : public IdSource {
 public:
  explicit SequentialIds(std::string prefix) : prefix_(std::move(prefix)) {}
  std::string next_id() override { return prefix_ + "-" + std::to_string(++n_); }

 private:
  std::string prefix_;
  long long n_ = 0;
};

}  // namespace returns
