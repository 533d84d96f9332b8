/*
 * fuzz_tile_path.c: arbitrary bytes into the C2SP tile path parser. The
 * invariant is that parse accepts only canonical paths: whatever it
 * accepts must re-encode to exactly the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scitt/merkle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_tile_path_t tp;
    if (scitt_merkle_tile_path_parse(&tp, (const char *)data, size) != 0) {
        return 0;
    }
    char buf[SCITT_MERKLE_TILE_PATH_MAX + 1];
    size_t len;
    if (scitt_merkle_tile_path_encode(buf, sizeof(buf), &len, &tp) != 0 || len != size ||
        memcmp(buf, data, size) != 0) {
        abort();
    }
    return 0;
}
