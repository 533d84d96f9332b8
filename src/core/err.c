/* err.c: the generated tables behind include/scitt/err.h. */
#include <string.h>

#include "scitt/err.h"

const char *scitt_strerror(int rc)
{
    if (rc == 0) {
        return "success";
    }
    switch (rc) {
#define SCITT__ERR_TEXT(name, value, text)                                                                             \
    case value:                                                                                                        \
        return text;
        SCITT_ERR_MAP(SCITT__ERR_TEXT)
#undef SCITT__ERR_TEXT
    }
    if (rc < 0 && rc > -1000) {
        return strerror(-rc);
    }
    return "unknown error";
}

const char *scitt_err_name(int rc)
{
    if (rc == 0) {
        return "SCITT_OK";
    }
    switch (rc) {
#define SCITT__ERR_NAME(name, value, text)                                                                             \
    case value:                                                                                                        \
        return "SCITT_" #name;
        SCITT_ERR_MAP(SCITT__ERR_NAME)
#undef SCITT__ERR_NAME
    }
    return "SCITT_EUNKNOWN";
}

bool scitt_err_is_fatal(int rc)
{
    switch (rc) {
    case SCITT_ENOMEM:
    case SCITT_EIO:
    case SCITT_ENOSPC:
    case SCITT_ECORRUPT:
    case SCITT_EFORMAT:
    case SCITT_ECRYPTO:
        return true;
    default:
        return false;
    }
}
