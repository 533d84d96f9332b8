/* check.h: CHECK(x), a harness's invariant: abort (a finding) when false. */
#ifndef SCITT_FUZZ_CHECK_H
#define SCITT_FUZZ_CHECK_H

#include <stdlib.h>

#define CHECK(x)                                                                                                       \
    do {                                                                                                               \
        if (!(x)) {                                                                                                    \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

#endif
