/*
 * fuzz_cose_sign1.c: arbitrary bytes -> scitt_cose_sign1_decode + statement
 * checks. Invariants checked on every accepted input:
 *  - every returned span lies inside the input;
 *  - the Sig_structure builds;
 *  - the normalised statement re-decodes, with an empty unprotected header,
 *    the same protected header, payload and signature, and the entry equals
 *    SHA-256 of the normalised bytes.
 * Then the whole registration policy runs on the input (scitt_policy_check
 * with --allow-unknown-issuers semantics and no trust roots), so x5chain
 * certificates, key loading and signature checks see fuzzed bytes too; every
 * rejection must carry a reason and map to a 4xx problem.
 */
#include <stdlib.h>

#include "scitt/cose.h"
#include "scitt/verify.h"

static scitt_policy_t *policy;

static void check_policy(const uint8_t *data, size_t size)
{
    if (policy == NULL) {
        scitt_policy_config_t cfg = {.allow_unknown_issuers = true};
        if (scitt_policy_new(&policy, &cfg, NULL) != 0) {
            abort();
        }
    }
    scitt_verified_t v;
    scitt_buf_t scratch;
    const char *why = NULL;
    scitt_buf_init(&scratch, NULL, 0);
    int rc = scitt_policy_check(policy, data, size, 1795305600, &v, &scratch, &why);
    scitt_buf_cleanup(&scratch);
    int status;
    const char *title;
    scitt_cose_problem_for(rc, &status, &title);
    if (rc != 0 && (why == NULL || status < 400 || status >= 500)) {
        abort();
    }
}

static scitt_span_t input;

static void within(scitt_span_t s)
{
    if (!scitt_span_within(s, input)) {
        abort();
    }
}

static void hdrs_within(const scitt_cose_hdrs_t *h)
{
    within(h->map);
    within(h->kid);
    within(h->cwt.iss);
    within(h->cwt.sub);
    within(h->content_type.text);
    within(h->typ.text);
    within(h->x5t_hash);
    within(h->preimage_content_type.text);
    within(h->payload_location);
    for (size_t i = 0; i < h->num_crit; i++) {
        within(h->crit[i].text);
    }
    for (size_t i = 0; i < h->num_x5chain; i++) {
        within(h->x5chain[i]);
    }
    for (size_t i = 0; i < h->num_receipts; i++) {
        within(h->receipts[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    scitt_cose_sign1_t s, again;
    const char *why = NULL;
    input = scitt_span(data, size);
    check_policy(data, size);
    if (scitt_cose_sign1_decode(&s, data, size, 0, &why) != 0) {
        if (why == NULL) {
            abort(); /* every rejection has a reason */
        }
        return 0;
    }
    within(s.raw);
    within(s.protected_item);
    within(s.protected_bstr);
    within(s.unprotected_item);
    within(s.payload_item);
    within(s.payload);
    within(s.signature_item);
    within(s.signature);
    hdrs_within(&s.prot);
    hdrs_within(&s.unprot);
    (void)scitt_cose_statement_check(&s, NULL, 0, NULL);

    scitt_buf_t buf;
    scitt_buf_init(&buf, NULL, 0);
    if (scitt_cose_sig_structure(&s, scitt_span(NULL, 0), &buf) != 0) {
        abort();
    }
    scitt_buf_reset(&buf);
    if (scitt_cose_normalise(&s, &buf) != 0 || scitt_cose_sign1_decode(&again, buf.base, buf.len, 0, NULL) != 0) {
        abort();
    }
    uint8_t e1[SCITT_SHA256_LEN], e2[SCITT_SHA256_LEN];
    scitt_cose_entry(&s, e1);
    scitt_sha256(e2, buf.base, buf.len);
    if (again.unprot.present != 0 || again.prot.present != s.prot.present || again.prot.alg != s.prot.alg ||
        !scitt_span_eq(again.protected_bstr, s.protected_bstr) || !scitt_span_eq(again.payload, s.payload) ||
        again.detached != s.detached || !scitt_span_eq(again.signature, s.signature) ||
        !scitt_span_eq(again.prot.kid, s.prot.kid) || !scitt_span_eq(again.prot.cwt.iss, s.prot.cwt.iss) ||
        again.prot.num_x5chain != s.prot.num_x5chain || memcmp(e1, e2, sizeof(e1)) != 0) {
        abort();
    }
    scitt_buf_cleanup(&buf);
    return 0;
}
