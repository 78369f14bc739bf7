/*
 * The count of PURGE_KEY calls the test endpoint keeps beside its store
 * (tsfake.h), read by the tests: on its own, so that the end-to-end tests
 * take it without the endpoint's library.
 */
#include <stdio.h>

#include "tsfake.h"

unsigned tsfake_purges_in(const char *store_path)
{
	char name[4200];
	unsigned n = 0;
	FILE *fp;

	snprintf(name, sizeof(name), "%s.purges", store_path);
	fp = fopen(name, "r");
	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%u", &n) != 1)
		n = 0;
	fclose(fp);
	return n;
}
