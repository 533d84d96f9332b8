/*
 * shani.c: SHA-NI with two messages in flight, which saturates the SHA unit
 * of Intel cores (see shani.h).
 */
#define WAYS         2
#define SHANI_NAME   "shani"
#define SHANI_KERNEL scitt_sha256__shani

#include "shani.h"
