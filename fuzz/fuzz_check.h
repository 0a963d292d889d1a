#ifndef HALOPSA_FUZZ_FUZZ_CHECK_H_
#define HALOPSA_FUZZ_FUZZ_CHECK_H_

#include <cstdio>
#include <cstdlib>

// A property every input must keep. Aborting makes libFuzzer save the input
// as a crash, the same as a sanitizer report would.
#define FUZZ_CHECK(condition)                                                                   \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)

#endif  // HALOPSA_FUZZ_FUZZ_CHECK_H_
