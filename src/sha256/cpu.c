/*
 * cpu.c: may this machine run a kernel? (x86-64 only, baseline ISA.)
 *
 * The CPU must report the instructions (cpuid) and the operating system must
 * save the registers they use across context switches: XCR0, read with
 * XGETBV once CPUID.1:ECX.OSXSAVE says the OS enabled it, must have the SSE
 * and AVX state bits for 256-bit registers, and additionally the opmask,
 * ZMM_Hi256 and Hi16_ZMM bits for AVX-512 (Intel SDM vol. 1, 13.3).
 */
#include <cpuid.h>

#include "internal.h"

#define XCR0_SSE    (1u << 1)
#define XCR0_AVX    (1u << 2)
#define XCR0_AVX512 (7u << 5) /* opmask, ZMM_Hi256, Hi16_ZMM */

typedef struct features {
    unsigned ecx1; /* CPUID.1:ECX */
    unsigned ebx7; /* CPUID.(7,0):EBX */
    uint64_t xcr0; /* 0 unless the OS enabled XSAVE */
} features_t;

static features_t features(void)
{
    features_t f = {0, 0, 0};
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return f;
    }
    f.ecx1 = c;
    if (__get_cpuid_max(0, NULL) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.ebx7 = b;
    }
    if (f.ecx1 & bit_OSXSAVE) {
        unsigned lo, hi;
        /* Inline asm: the _xgetbv intrinsic would need -mxsave on this baseline file. */
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        f.xcr0 = ((uint64_t)hi << 32) | lo;
    }
    return f;
}

static bool has_all(unsigned reg, unsigned bits)
{
    return (reg & bits) == bits;
}

bool scitt_sha256__cpu_shani(void)
{
    features_t f = features();
    return has_all(f.ecx1, bit_SSSE3 | bit_SSE4_1) && has_all(f.ebx7, bit_SHA);
}

bool scitt_sha256__cpu_avx2(void)
{
    features_t f = features();
    return has_all(f.ecx1, bit_AVX | bit_OSXSAVE) && has_all(f.ebx7, bit_AVX2) &&
           has_all((unsigned)f.xcr0, XCR0_SSE | XCR0_AVX);
}

bool scitt_sha256__cpu_avx512(void)
{
    features_t f = features();
    return scitt_sha256__cpu_avx2() && has_all(f.ebx7, bit_AVX512F | bit_AVX512BW | bit_AVX512VL) &&
           has_all((unsigned)f.xcr0, XCR0_SSE | XCR0_AVX | XCR0_AVX512);
}
