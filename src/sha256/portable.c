/* portable.c: the reference kernel, one message at a time through src/crypto. */
#include "internal.h"
#include "scitt/crypto.h"

static bool always(void)
{
    return true;
}

static void batch(uint8_t (*out)[32], const scitt_span_t *msgs, size_t num)
{
    for (size_t i = 0; i < num; i++) {
        scitt_sha256(out[i], msgs[i].base, msgs[i].len);
    }
}

static void leaves(uint8_t (*out)[32], const uint8_t (*entries)[32], size_t num)
{
    for (size_t i = 0; i < num; i++) {
        uint8_t msg[33];
        msg[0] = 0x00;
        memcpy(msg + 1, entries[i], 32);
        scitt_sha256(out[i], msg, sizeof(msg));
    }
}

static void nodes(uint8_t (*out)[32], const uint8_t (*children)[32], size_t num)
{
    for (size_t i = 0; i < num; i++) {
        uint8_t msg[65];
        msg[0] = 0x01;
        memcpy(msg + 1, children[2 * i], 64);
        scitt_sha256(out[i], msg, sizeof(msg));
    }
}

const scitt_sha256__kernel_t scitt_sha256__portable = {"portable", always, batch, leaves, nodes};
