/* test_database_label.c: what scittd's messages show of --database
 * (scitt_config_database_label): database, host and port, never the user,
 * the password or other parameters, for URIs and key=value strings. */
#include <criterion/criterion.h>
#include <string.h>

#include "scitt/config.h"

static void expect(const char *conninfo, const char *want)
{
    char out[256];
    scitt_config_database_label(conninfo, out, sizeof(out));
    cr_assert_str_eq(out, want, "%s", conninfo);
    cr_assert_null(strstr(out, "s3cret"), "%s", conninfo);
}

Test(config_database_label, uris)
{
    expect("postgresql://scitt@127.0.0.1:5433/postgres", "database postgres on 127.0.0.1:5433");
    expect("postgres://u:s3cret@db.example/log?sslmode=require", "database log on db.example:default");
    expect("postgresql://u:s3cret@[::1]:6000/x", "database x on [::1]:6000");
    expect("postgresql://[::1]/x", "database x on [::1]:default");
    expect("postgresql://h1:1,h2:2/x?target_session_attrs=read-write", "database x on h1:1,h2:2");
    expect("postgresql:///x?host=/run/pg&port=5434&password=s3cret", "database x on /run/pg:5434");
    expect("postgresql://", "database default on default:default");
    expect("postgresql://u:s3cret@h/d%20b\x01?dbname=\x7fz", "database ?z on h:default");
}

Test(config_database_label, key_value_strings)
{
    expect("host=db port=5432 dbname=log user=scitt password=s3cret", "database log on db:5432");
    expect("password='s3 cret' dbname = 'my log'  host=h", "database my?log on h:default");
    expect("service=prod", "database default on default:default");
    expect("", "database default on default:default");
}

Test(config_database_label, bounded)
{
    char big[400], out[256];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "dbname=", 7);
    scitt_config_database_label(big, out, sizeof(out));
    cr_assert_eq(strlen(out), strlen("database  on default:default") + 64);
    char tiny[8];
    scitt_config_database_label("dbname=x", tiny, sizeof(tiny));
    cr_assert_str_eq(tiny, "databas");
}
