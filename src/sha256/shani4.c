/*
 * shani4.c: SHA-NI with four messages in flight, for cores whose SHA256RNDS2
 * latency two chains do not hide (AMD Zen; see shani.h).
 */
#define WAYS         4
#define SHANI_NAME   "shani4"
#define SHANI_KERNEL scitt_sha256__shani4

#include "shani.h"
