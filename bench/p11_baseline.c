/*
 * tessera-p11-baseline: a PKCS#11 module's own ECDSA P-256 sign rate, in
 * process (C_SignInit + C_Sign, one session per thread, one login), first on
 * a session key (in memory), then on a token key, the kind tesserad uses; the
 * keys are destroyed afterwards. The measurement is p11.c's, which
 * `tessera-bench --spawn-hsm` runs in the same run as the daemon's figures;
 * this program is for a module and token of your own (a real HSM).
 *
 *   tessera-p11-baseline --module PATH --token-label LABEL --pin-file FILE
 *                        [--threads N] [--duration SEC]
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench-priv.h"

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"module", required_argument, NULL, 'm'},
	        {"token-label", required_argument, NULL, 'l'},
	        {"pin-file", required_argument, NULL, 'p'},
	        {"threads", required_argument, NULL, 't'},
	        {"duration", required_argument, NULL, 'd'},
	        {NULL, 0, NULL, 0},
	};
	struct p11_baseline_params p = {.threads = (int)sysconf(_SC_NPROCESSORS_ONLN),
	                                .duration = 3};
	struct p11_baseline_result r;
	int ch;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'm':
			p.module = optarg;
			break;
		case 'l':
			p.label = optarg;
			break;
		case 'p':
			p.pin_file = optarg;
			break;
		case 't':
			p.threads = atoi(optarg);
			break;
		case 'd':
			p.duration = atof(optarg);
			break;
		default:
			return 2;
		}
	}
	if (p.module == NULL || p.label == NULL || p.pin_file == NULL || p.threads < 1 ||
	    p.threads > 64 || p.duration <= 0) {
		fprintf(stderr, "usage: tessera-p11-baseline --module PATH --token-label LABEL "
		                "--pin-file FILE [--threads 1-64] [--duration SEC]\n");
		return 2;
	}
	if (p11_baseline_run(&p, &r) != 0)
		return 1;
	printf("PKCS#11 in process, ECDSA P-256 C_SignInit+C_Sign, session key, %d thread(s): "
	       "%.0f signs/s\n",
	       p.threads, r.session_rps);
	printf("PKCS#11 in process, ECDSA P-256 C_SignInit+C_Sign, token key, %d thread(s): "
	       "%.0f signs/s\n",
	       p.threads, r.token_rps);
	return 0;
}
