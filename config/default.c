#include "config/config-priv.h"

/*
 * The embedded default, shown by `tesserad --print-default-config`. It must
 * state exactly the built-in defaults of config.c; a unit test loads it and
 * "{}" and compares every field.
 */
static const char default_json[] = "{\n"
                                   "  \"core\": {\n"
                                   "    \"allow_root\": false,\n"
                                   "    \"threads\": 0,\n"
                                   "    \"log_level\": \"info\",\n"
                                   "    \"body_len_limit\": 1048576,\n"
                                   "    \"buffer_size_limit\": 1048576,\n"
                                   "    \"allow_deprecated\": false,\n"
                                   "    \"log_error_details\": false,\n"
                                   "    \"max_in_flight\": 0,\n"
                                   "    \"io_threads\": 0,\n"
                                   "    \"max_slow_per_tenant\": 0\n"
                                   "  },\n"
                                   "  \"listener\": {\n"
                                   "    \"socket_path\": \"/run/tessera/api.sock\",\n"
                                   "    \"timeout_ms\": 3000,\n"
                                   "    \"idle_timeout_ms\": 60000,\n"
                                   "    \"socket_mode\": \"0666\",\n"
                                   "    \"socket_group\": null,\n"
                                   "    \"max_connections\": 4096,\n"
                                   "    \"max_connections_per_uid\": 1024\n"
                                   "  },\n"
                                   "  \"authenticators\": [\n"
                                   "    {\"type\": \"UnixPeerCredentials\", \"admins\": []}\n"
                                   "  ],\n"
                                   "  \"key_store\": {\n"
                                   "    \"path\": \"/var/lib/tessera/keystore.sqlite3\",\n"
                                   "    \"kek_path\": \"/etc/tessera/keystore.kek\"\n"
                                   "  },\n"
                                   "  \"quotas\": {\n"
                                   "    \"max_keys_per_tenant\": 10000,\n"
                                   "    \"max_key_bytes_per_tenant\": 67108864\n"
                                   "  },\n"
                                   "  \"psa\": {\n"
                                   "    \"operation_idle_ms\": 300000,\n"
                                   "    \"max_operations_per_tenant\": 64\n"
                                   "  },\n"
                                   "  \"providers\": [\n"
                                   "    {\"type\": \"Software\", \"name\": \"software-provider\"}\n"
                                   "  ]\n"
                                   "}\n";

const char *config_default_json(void)
{
	return default_json;
}
