// model_rng.h — a small deterministic PRNG (splitmix64) for the seeded model test: the same seed
// gives the same op sequence with every compiler and standard library (no <random> engines or
// distributions, whose output is implementation-defined).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace returns::store::model {

class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform-enough integer in [lo, hi], both inclusive. REQUIRES lo <= hi.
  std::int64_t range(std::int64_t lo, std::int64_t hi) {
    const std::uint64_t span = static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo);
    if (span == UINT64_MAX) return static_cast<std::int64_t>(next());
    return static_cast<std::int64_t>(static_cast<std::uint64_t>(lo) + next() % (span + 1));
  }

  // True with probability p / 100.
  bool percent(int p) { return static_cast<int>(next() % 100) < p; }

  // An index in [0, n). REQUIRES n > 0.
  std::size_t index(std::size_t n) { return static_cast<std::size_t>(next() % n); }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[index(v.size())];
  }

 private:
  std::uint64_t state_;
};

}  // namespace returns::store::model
