/*
 * store_stub.c: TEMPORARY. A weak scitt_store_query until the store's index
 * (branch idx-store) is merged; removed by that merge. Answers every query
 * with "nothing indexed yet" as an error so GET /entries?... gives 500.
 */
#include "scitt/store.h"

__attribute__((weak)) int scitt_store_query(scitt_store_read_t *rd, const scitt_store_query_t *q, uint64_t *out,
                                            size_t max, size_t *out_num, uint64_t *out_next)
{
    (void)rd, (void)q, (void)out, (void)max;
    *out_num = 0;
    *out_next = UINT64_MAX;
    return SCITT_EFORMAT;
}
