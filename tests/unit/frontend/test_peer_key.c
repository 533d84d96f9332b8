/*
 * test_peer_key.c: the key under which connection caps and rate limits
 * count a client (src/frontend/peers.c): an IPv4 address as itself, an
 * IPv4-mapped IPv6 address as that IPv4 address, an IPv6 address by its
 * /64 prefix (issue 19: one host usually holds a whole /64).
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>

#include "internal.h"

static void key4(const char *ip, uint8_t key[16])
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    cr_assert_eq(inet_pton(AF_INET, ip, &in->sin_addr), 1);
    scitt_h2__peer_key(&ss, key);
}

static void key6(const char *ip, uint8_t key[16])
{
    struct sockaddr_storage ss = {0};
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    in6->sin6_family = AF_INET6;
    cr_assert_eq(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
    scitt_h2__peer_key(&ss, key);
}

Test(peer_key, ipv4_by_address)
{
    uint8_t a[16], b[16], c[16];
    key4("127.0.0.1", a);
    key4("127.0.0.2", b);
    key4("127.0.0.1", c);
    cr_assert_neq(memcmp(a, b, 16), 0);
    cr_assert_eq(memcmp(a, c, 16), 0);
}

Test(peer_key, ipv4_mapped_is_ipv4)
{
    uint8_t a[16], b[16];
    key4("192.0.2.7", a);
    key6("::ffff:192.0.2.7", b);
    cr_assert_eq(memcmp(a, b, 16), 0);
}

Test(peer_key, ipv6_by_64_prefix)
{
    uint8_t a[16], b[16], c[16], d[16];
    key6("2001:db8:1:2:aaaa:bbbb:cccc:dddd", a);
    key6("2001:db8:1:2::1", b);
    key6("2001:db8:1:3::1", c);
    key6("2001:db8:1:2:ffff:ffff:ffff:ffff", d);
    cr_assert_eq(memcmp(a, b, 16), 0, "same /64, one key");
    cr_assert_eq(memcmp(a, d, 16), 0, "same /64, one key");
    cr_assert_neq(memcmp(a, c, 16), 0, "another /64, another key");
    /* No IPv6 /64 collides with an IPv4 address. */
    uint8_t v4[16];
    key4("0.0.0.1", v4);
    key6("::", c);
    cr_assert_neq(memcmp(v4, c, 16), 0);
}
