#!/usr/bin/python3
"""Write the bad-input corpus: one file per rejection class, and
manifest.json with the status and SCRAPI problem title each must get from a
running scittd (tests/integration/test_bad_inputs.py sends them).

The COSE cases are the hand-built statements of tests/unit/cose/cases.h
(each changes one thing of a good statement); the expected answers below are
written here by hand from RFC 9943 / SCRAPI-11 and docs/DECISIONS.md, not
taken from scittd. Run from this folder; the outputs are committed."""
import json
import os
import re

MALFORMED = (400, "Malformed request")
BAD_ALG = (400, "Bad Signature Algorithm")
CONFIRM = (400, "Confirmation Missing")
PAYLOAD = (400, "Payload Missing")
REJECTED = (400, "Rejected")  # well formed, but no trusted issuer key / root

# What each cases.h statement must get. The structurally valid ones name the
# 3-byte kid 'kid', which is no issuer's thumbprint: "Rejected".
EXPECT = {
    "good": REJECTED, "good_untagged": REJECTED, "crit_ok": REJECTED, "he_ok": REJECTED,
    "receipts": REJECTED, "x5chain_one": REJECTED, "typ_ctype": REJECTED, "nested_ok": REJECTED,
    "empty_prot": BAD_ALG, "no_alg": BAD_ALG, "alg_unknown": BAD_ALG, "alg_text": BAD_ALG,
    "detached": PAYLOAD,
    "no_kid": CONFIRM, "empty_kid": CONFIRM, "kid_unprot": CONFIRM, "x5t_uri": CONFIRM,
}

here = os.path.dirname(os.path.abspath(__file__))
cases_h = open(os.path.join(here, "..", "..", "unit", "cose", "cases.h")).read()
body = cases_h[cases_h.index("cose_cases[] = {"):]
cases = {}
for name, lits in re.findall(r'\{"([a-z0-9_]+)",\s*((?:"[0-9a-f]*"\s*)+)\}', body):
    cases[name] = bytes.fromhex("".join(re.findall(r'"([0-9a-f]*)"', lits)))

manifest = []
for name, data in sorted(cases.items()):
    with open(os.path.join(here, name + ".cose"), "wb") as f:
        f.write(data)
    status, title = EXPECT.get(name, MALFORMED)
    manifest.append({"file": name + ".cose", "class": "cose", "status": status, "title": title})

# Request-level classes, independent of the COSE bytes.
with open(os.path.join(here, "not-cbor.bin"), "wb") as f:
    f.write(b"this is not a COSE_Sign1 statement\n")
with open(os.path.join(here, "empty.bin"), "wb") as f:
    pass
manifest += [
    {"file": "not-cbor.bin", "class": "http", "status": 400, "title": "Malformed request"},
    {"file": "empty.bin", "class": "http", "status": 400, "title": "Malformed request"},
    {"file": "good.cose", "class": "http", "content_type": "application/json", "status": 415,
     "title": "Unsupported Media Type"},
    {"file": "good.cose", "class": "http", "content_type": None, "status": 415, "title": "Unsupported Media Type"},
    {"file": "oversized", "class": "http", "size": 2 << 20, "status": 413, "title": "Content Too Large"},
    {"path": "/entries/" + "Z" * 64, "class": "http", "method": "GET", "status": 400, "title": "Invalid locator"},
    {"path": "/entries/" + "A" * 64, "class": "http", "method": "GET", "status": 400, "title": "Invalid locator"},
    {"path": "/entries/" + "0" * 64, "class": "http", "method": "GET", "status": 404, "title": "Not Found"},
    {"path": "/tile/0/001.p/0", "class": "http", "method": "GET", "status": 404, "title": "Not Found"},
    {"path": "/entries?nosuch=1", "class": "http", "method": "GET", "status": 400, "title": "Bad Request"},
    {"path": "/entries?limit=0", "class": "http", "method": "GET", "status": 400, "title": "Bad Request"},
    {"path": "/nowhere", "class": "http", "method": "GET", "status": 404, "title": "Not Found"},
]
with open(os.path.join(here, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1)
    f.write("\n")
print(f"{len(manifest)} cases")
