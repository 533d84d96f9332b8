/* Placeholder scittd until the HTTP/2 service issue lands. */
#include <stdio.h>

#include "scitt/crypto.h"

int main(void)
{
    fprintf(stderr, "scittd: the HTTP/2 service is not built yet (crypto backend: %s)\n", scitt_crypto_backend());
    return 0;
}
