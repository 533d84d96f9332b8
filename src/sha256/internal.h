/* internal.h: the kernel table of src/sha256. */
#ifndef SCITT_SRC_SHA256_INTERNAL_H
#define SCITT_SRC_SHA256_INTERNAL_H

#include "scitt/sha256.h"

typedef struct scitt_sha256__kernel {
    const char *name;
    bool (*supported)(void);
    void (*batch)(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num);
    void (*leaves)(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num);
    void (*nodes)(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num);
} scitt_sha256__kernel_t;

extern const scitt_sha256__kernel_t scitt_sha256__portable;

#endif
